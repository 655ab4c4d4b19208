"""The delivery day: its constants, and how ERP rows map onto the planner's units.

Used by the stream glue (streams/routing.py) and `topllantas routes show`, so both build the
same problem. Times in the planner are minutes since local midnight (America/Mexico_City) of
the route date; distances are km. The constants stay here, not in settings, until the lead
promotes one to `schemas/settings.py`.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

from processors.routing.problem import Coordinates, Depot, Stop, TimeWindow, Vehicle
from schemas.erp import Customer, Warehouse
from schemas.erp import Vehicle as ErpVehicle
from schemas.routes import DeliverableOrder
from schemas.timezones import MEXICO_CITY

# Time at a customer's door: parking, unloading, signature; plus handling per tire.
SERVICE_BASE_MIN = 10.0
SERVICE_PER_TIRE_MIN = 1.0
# Weight of a tire whose product row has not arrived yet.
FALLBACK_TIRE_KG = 10.0

# The nightly plan: at 18:00 Mexico City, for the next day.
NIGHTLY_CRON = "0 18 * * *"
NIGHTLY_TIME_LIMIT_S = 30.0
# Orders added or cancelled after the plan re-plan the day until this local time on the
# delivery day itself (drivers load at 07:00), once the day has been quiet for the debounce.
REPLAN_CUTOFF = time(7, 0)
REPLAN_DEBOUNCE_S = 2.0
REPLAN_TIME_LIMIT_S = 3.0

# What the customer is told: a window of this width around the planned service start.
ETA_WINDOW_MIN = 120
ETA_ROUND_MIN = 30

# Live tracking: legs are predicted with the planner's haversine assumptions.
TRACKING_SPEED_KMH = 28.0
TRACKING_ROAD_FACTOR = 1.35
ARRIVAL_RADIUS_KM = 0.15
LATE_TOLERANCE_MIN = 15.0

DISPATCHER_EMAIL = "despacho@topllantas.mx"
ETA_TEMPLATE = "entrega_programada"
DELAY_TEMPLATE = "entrega_retrasada"
CHANGE_TIME_BUTTON = "CAMBIAR HORA"


def service_minutes(tires: int) -> float:
    """Time spent at a stop delivering `tires` tires."""
    return SERVICE_BASE_MIN + SERVICE_PER_TIRE_MIN * tires


def minutes_of(clock: time) -> float:
    return clock.hour * 60 + clock.minute + clock.second / 60


def at_minutes(route_date: date, minutes: float) -> datetime:
    """The local datetime `minutes` after midnight of `route_date`."""
    midnight = datetime.combine(route_date, time(0), tzinfo=MEXICO_CITY)
    return midnight + timedelta(minutes=minutes)


def eta_window(service_start: float, window: TimeWindow) -> tuple[float, float]:
    """The window promised to the customer: `ETA_WINDOW_MIN` wide, on `ETA_ROUND_MIN` marks,
    starting an hour before the planned service start but not before the customer's window."""
    start = math.floor((service_start - ETA_WINDOW_MIN / 2) / ETA_ROUND_MIN) * ETA_ROUND_MIN
    start = max(start, math.floor(window.start / ETA_ROUND_MIN) * ETA_ROUND_MIN)
    return float(start), float(start + ETA_WINDOW_MIN)


def depot_of(warehouse: Warehouse) -> Depot:
    return Depot(str(warehouse.id), Coordinates(warehouse.lat, warehouse.lon), warehouse.code)


def vehicle_of(vehicle: ErpVehicle) -> Vehicle:
    return Vehicle(
        vehicle_id=str(vehicle.id), depot_id=str(vehicle.warehouse_id),
        max_tires=vehicle.capacity_tires, max_kg=float(vehicle.capacity_kg),
        shift=TimeWindow(minutes_of(vehicle.shift_start), minutes_of(vehicle.shift_end)))


def stop_of(order: DeliverableOrder, customer: Customer) -> Stop:
    return Stop(
        order_id=str(order.sales_order_id), location=Coordinates(customer.lat, customer.lon),
        tires=order.tires, weight_kg=order.weight_kg,
        window=TimeWindow(minutes_of(customer.delivery_window_start),
                          minutes_of(customer.delivery_window_end)),
        service_time=service_minutes(order.tires))
