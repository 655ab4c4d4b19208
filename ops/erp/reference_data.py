"""Reference data of the Mexican tire market used by the catalogue generator."""

from __future__ import annotations

# name, tier, price multiplier, model lines
BRANDS: list[tuple[str, str, float, list[str]]] = [
    ("Michelin", "premium", 1.35, ["Primacy 4", "Energy XM2+", "Pilot Sport 4", "LTX Force",
                                   "Defender LTX"]),
    ("Bridgestone", "premium", 1.25, ["Turanza T005", "Ecopia EP150", "Dueler H/T 684",
                                      "Potenza RE003"]),
    ("Goodyear", "premium", 1.2, ["Assurance MaxLife", "EfficientGrip", "Wrangler Fortitude"]),
    ("Pirelli", "premium", 1.3, ["Cinturato P7", "Scorpion Verde", "P Zero"]),
    ("Continental", "premium", 1.22, ["PowerContact 2", "CrossContact LX", "UltraContact"]),
    ("BFGoodrich", "media", 1.15, ["Advantage Control", "All-Terrain T/A KO2", "Trail-Terrain"]),
    ("Firestone", "media", 1.0, ["Firehawk 900", "Destination LE3", "Multihawk"]),
    ("Hankook", "media", 0.95, ["Kinergy GT", "Ventus Prime 4", "Dynapro HT"]),
    ("Yokohama", "media", 1.0, ["BluEarth AE51", "Geolandar A/T", "Avid Ascend"]),
    ("Kumho", "media", 0.88, ["Ecsta HS52", "Solus TA31", "Crugen HT51"]),
    ("Euzkadi", "economica", 0.8, ["Eurodrive", "Terra Max"]),
    ("Tornel", "economica", 0.72, ["Real", "Astral", "AT-909"]),
    ("General Tire", "media", 0.9, ["Altimax RT43", "Grabber AT3"]),
    ("Falken", "media", 0.92, ["Ziex ZE950", "Wildpeak A/T3W"]),
    ("Toyo", "media", 1.05, ["Proxes Sport", "Open Country A/T III"]),
]

# suppliers: name, brands supplied, lead time days, lead-time sd, min order qty, pack multiple
SUPPLIERS: list[tuple[str, list[str], float, float, int, int]] = [
    ("Michelin México", ["Michelin", "BFGoodrich"], 12, 3, 20, 4),
    ("Bridgestone de México", ["Bridgestone", "Firestone"], 10, 2, 16, 4),
    ("Goodyear-Euzkadi Distribución", ["Goodyear", "Euzkadi"], 8, 2, 12, 4),
    ("Pirelli Neumáticos", ["Pirelli"], 21, 5, 24, 4),
    ("Continental Tire de México", ["Continental", "General Tire"], 14, 4, 16, 4),
    ("Importadora Asia Llantas", ["Hankook", "Kumho", "Yokohama", "Falken", "Toyo"], 30, 8, 40, 8),
    ("Llantas Tornel", ["Tornel"], 5, 1, 8, 2),
]

CATEGORIES = ["Auto", "SUV y Camioneta", "Pickup y Carga ligera", "Alto desempeño"]

# (width, aspect, rim, category index, popularity weight)
SIZES: list[tuple[int, int, int, int, float]] = [
    (155, 80, 13, 0, 0.6), (175, 70, 13, 0, 1.6), (175, 65, 14, 0, 1.4), (185, 65, 14, 0, 1.8),
    (185, 60, 15, 0, 1.5), (185, 55, 15, 0, 0.9), (195, 65, 15, 0, 2.0), (195, 60, 15, 0, 1.2),
    (195, 55, 16, 0, 1.0), (205, 55, 16, 0, 2.2), (205, 60, 16, 0, 1.1), (215, 60, 16, 1, 1.3),
    (215, 65, 16, 1, 1.2), (215, 55, 17, 0, 1.2), (215, 45, 17, 3, 0.7), (225, 45, 17, 3, 0.8),
    (225, 65, 17, 1, 1.5), (225, 60, 17, 1, 1.0), (235, 65, 17, 1, 1.1), (225, 55, 18, 1, 0.8),
    (235, 60, 18, 1, 0.9), (245, 45, 18, 3, 0.5), (255, 55, 18, 1, 0.6), (235, 55, 19, 1, 0.5),
    (245, 70, 16, 2, 1.0), (265, 70, 16, 2, 1.1), (265, 75, 16, 2, 0.9), (265, 65, 17, 2, 0.9),
    (275, 55, 20, 2, 0.5), (225, 75, 16, 2, 0.7), (195, 75, 16, 2, 0.6), (185, 70, 14, 0, 1.0),
]

# make, model, year from, year to, tire size
FITMENTS: list[tuple[str, str, int, int, str]] = [
    ("Volkswagen", "Jetta", 2019, 2025, "205/55R16"), ("Volkswagen", "Jetta", 2011, 2018, "195/65R15"),
    ("Volkswagen", "Vento", 2016, 2022, "185/60R15"), ("Volkswagen", "Virtus", 2023, 2025, "195/55R16"),
    ("Volkswagen", "Polo", 2018, 2023, "185/60R15"), ("Volkswagen", "Tiguan", 2018, 2025, "215/65R16"),
    ("Nissan", "Versa", 2020, 2025, "195/65R15"), ("Nissan", "Versa", 2012, 2019, "185/65R15"),
    ("Nissan", "Sentra", 2020, 2025, "205/60R16"), ("Nissan", "March", 2012, 2024, "175/70R13"),
    ("Nissan", "NP300", 2016, 2025, "195/75R16"), ("Nissan", "Kicks", 2017, 2025, "205/60R16"),
    ("Nissan", "X-Trail", 2015, 2025, "225/65R17"), ("Chevrolet", "Aveo", 2018, 2025, "185/55R15"),
    ("Chevrolet", "Beat", 2018, 2021, "155/80R13"), ("Chevrolet", "Onix", 2021, 2025, "185/65R14"),
    ("Chevrolet", "Tracker", 2021, 2025, "215/55R17"), ("Chevrolet", "Silverado", 2019, 2025, "265/65R17"),
    ("Toyota", "Corolla", 2019, 2025, "205/55R16"), ("Toyota", "Yaris", 2018, 2023, "185/60R15"),
    ("Toyota", "Hilux", 2016, 2025, "265/65R17"), ("Toyota", "RAV4", 2019, 2025, "225/65R17"),
    ("Toyota", "Tacoma", 2016, 2025, "265/70R16"), ("Honda", "Civic", 2016, 2025, "215/55R17"),
    ("Honda", "City", 2021, 2025, "185/55R15"), ("Honda", "CR-V", 2017, 2025, "235/65R17"),
    ("Honda", "HR-V", 2016, 2025, "215/55R17"), ("Mazda", "Mazda 3", 2019, 2025, "205/60R16"),
    ("Mazda", "CX-5", 2017, 2025, "225/65R17"), ("Mazda", "Mazda 2", 2016, 2025, "185/60R15"),
    ("Kia", "Rio", 2018, 2025, "185/65R15"), ("Kia", "Forte", 2019, 2025, "205/55R16"),
    ("Kia", "Seltos", 2020, 2025, "215/55R17"), ("Kia", "Sportage", 2017, 2025, "225/60R17"),
    ("Hyundai", "Accent", 2018, 2024, "185/65R15"), ("Hyundai", "Tucson", 2016, 2025, "225/60R17"),
    ("Ford", "Ranger", 2019, 2025, "265/65R17"), ("Ford", "Lobo", 2015, 2025, "275/55R20"),
    ("Ford", "Figo", 2016, 2021, "175/65R14"), ("Ford", "Escape", 2020, 2025, "225/65R17"),
    ("RAM", "700", 2015, 2025, "195/60R15"), ("RAM", "1500", 2019, 2025, "275/55R20"),
    ("Renault", "Duster", 2016, 2025, "215/65R16"), ("Renault", "Kwid", 2019, 2025, "165/70R14"),
    ("Suzuki", "Swift", 2018, 2025, "185/55R15"), ("Seat", "Ibiza", 2018, 2024, "185/65R15"),
    ("BMW", "Serie 3", 2019, 2025, "225/45R17"), ("Audi", "A3", 2017, 2025, "225/45R17"),
]

# code, name, city, state, lat, lon
WAREHOUSES: list[tuple[str, str, str, str, float, float]] = [
    ("MTY", "Sucursal Monterrey Centro", "Monterrey", "Nuevo León", 25.6866, -100.3161),
    ("GDL", "Sucursal Guadalajara Vallarta", "Guadalajara", "Jalisco", 20.6767, -103.3475),
    ("CDMX", "Sucursal CDMX Iztapalapa", "Ciudad de México", "CDMX", 19.3574, -99.0672),
]

# city, state, lat, lon, warehouse code, phone area code
CITIES: list[tuple[str, str, float, float, str, str]] = [
    ("Monterrey", "Nuevo León", 25.6866, -100.3161, "MTY", "81"),
    ("San Pedro Garza García", "Nuevo León", 25.6573, -100.4024, "MTY", "81"),
    ("Guadalupe", "Nuevo León", 25.6775, -100.2597, "MTY", "81"),
    ("Apodaca", "Nuevo León", 25.7818, -100.1886, "MTY", "81"),
    ("San Nicolás de los Garza", "Nuevo León", 25.7441, -100.3023, "MTY", "81"),
    ("Guadalajara", "Jalisco", 20.6597, -103.3496, "GDL", "33"),
    ("Zapopan", "Jalisco", 20.7214, -103.3918, "GDL", "33"),
    ("Tlaquepaque", "Jalisco", 20.6409, -103.2933, "GDL", "33"),
    ("Tonalá", "Jalisco", 20.6243, -103.2340, "GDL", "33"),
    ("Ciudad de México", "CDMX", 19.4326, -99.1332, "CDMX", "55"),
    ("Iztapalapa", "CDMX", 19.3574, -99.0672, "CDMX", "55"),
    ("Coyoacán", "CDMX", 19.3467, -99.1617, "CDMX", "55"),
    ("Naucalpan", "Estado de México", 19.4785, -99.2396, "CDMX", "55"),
    ("Ecatepec", "Estado de México", 19.6018, -99.0506, "CDMX", "55"),
]

FIRST_NAMES = ["José", "María", "Juan", "Guadalupe", "Luis", "Ana", "Carlos", "Laura", "Jorge",
               "Sofía", "Miguel", "Fernanda", "Ricardo", "Daniela", "Alejandro", "Gabriela",
               "Roberto", "Patricia", "Eduardo", "Verónica", "Fernando", "Claudia", "Héctor",
               "Mónica", "Arturo", "Adriana", "Raúl", "Leticia", "Sergio", "Alejandra"]
LAST_NAMES = ["Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez",
              "Sánchez", "Ramírez", "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes",
              "Jiménez", "Torres", "Díaz", "Gutiérrez", "Ruiz", "Mendoza", "Aguilar", "Ortiz",
              "Castillo", "Moreno", "Romero", "Garza", "Treviño", "Villarreal", "Salinas"]
BUSINESS_KINDS = ["Taller", "Llantera", "Servicio Automotriz", "Autoservicio", "Transportes",
                  "Flotilla", "Refaccionaria"]
STREETS = ["Av. Constitución", "Calle Juárez", "Av. Hidalgo", "Calle Morelos", "Av. Revolución",
           "Calle Zaragoza", "Av. Universidad", "Calle Madero", "Av. Insurgentes", "Calle Allende"]
