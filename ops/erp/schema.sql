-- Reference ERP of a tire distributor (the demo's and the tests' ERP).
-- Modelled on a real distribution ERP: catalogue, fitments, branches, stock, customers,
-- suppliers with volume price breaks, sales, purchasing, fleet and deliveries.
-- Idempotent: safe to apply on every start.

SET search_path = public;

-- Who buys what: the buyer responsible for a brand gets its stock alerts.
CREATE TABLE IF NOT EXISTS buyers (
    id          integer PRIMARY KEY,
    name        text NOT NULL,
    phone       text NOT NULL UNIQUE,
    email       text NOT NULL
);

CREATE TABLE IF NOT EXISTS brands (
    id          integer PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    tier        text NOT NULL CHECK (tier IN ('premium', 'media', 'economica')),
    buyer_id    integer REFERENCES buyers(id)
);

CREATE TABLE IF NOT EXISTS categories (
    id          integer PRIMARY KEY,
    name        text NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS suppliers (
    id                  integer PRIMARY KEY,
    name                text NOT NULL,
    email               text,
    phone               text,
    lead_time_days      numeric(6,2) NOT NULL CHECK (lead_time_days > 0),
    lead_time_sd_days   numeric(6,2) NOT NULL DEFAULT 0 CHECK (lead_time_sd_days >= 0),
    min_order_qty       integer NOT NULL DEFAULT 1 CHECK (min_order_qty >= 1),
    pack_multiple       integer NOT NULL DEFAULT 1 CHECK (pack_multiple >= 1)
);
-- Order terms by value (MXN): below min_order_value the supplier takes no order; from
-- free_freight_value on it pays the freight. Added by ALTER so an older ERP gets them too.
ALTER TABLE suppliers
    ADD COLUMN IF NOT EXISTS min_order_value numeric(12,2) NOT NULL DEFAULT 0
        CHECK (min_order_value >= 0),
    ADD COLUMN IF NOT EXISTS free_freight_value numeric(12,2) NOT NULL DEFAULT 0
        CHECK (free_freight_value >= 0);

CREATE TABLE IF NOT EXISTS products (
    id              integer PRIMARY KEY,
    sku             text NOT NULL UNIQUE,
    brand_id        integer NOT NULL REFERENCES brands(id),
    category_id     integer NOT NULL REFERENCES categories(id),
    supplier_id     integer NOT NULL REFERENCES suppliers(id),
    model           text NOT NULL,
    width           integer NOT NULL,
    aspect_ratio    integer NOT NULL,
    rim             integer NOT NULL,
    tire_size       text NOT NULL,           -- e.g. 205/55R16
    load_index      integer NOT NULL,
    speed_index     text NOT NULL,
    cost            numeric(12,2) NOT NULL CHECK (cost >= 0),
    list_price      numeric(12,2) NOT NULL CHECK (list_price >= 0),
    weight_kg       numeric(6,2) NOT NULL,
    abc_class       char(1) NOT NULL DEFAULT 'C' CHECK (abc_class IN ('A', 'B', 'C')),
    active          boolean NOT NULL DEFAULT true,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS products_size_idx ON products (width, aspect_ratio, rim);

-- Volume price breaks: from min_qty units on, the supplier charges unit_cost.
CREATE TABLE IF NOT EXISTS supplier_price_breaks (
    supplier_id     integer NOT NULL REFERENCES suppliers(id),
    product_id      integer NOT NULL REFERENCES products(id),
    min_qty         integer NOT NULL CHECK (min_qty >= 1),
    unit_cost       numeric(12,2) NOT NULL CHECK (unit_cost >= 0),
    PRIMARY KEY (supplier_id, product_id, min_qty)
);

CREATE TABLE IF NOT EXISTS vehicle_fitments (
    id          integer PRIMARY KEY,
    make        text NOT NULL,
    model       text NOT NULL,
    year_from   integer NOT NULL,
    year_to     integer NOT NULL,
    tire_size   text NOT NULL
);
CREATE INDEX IF NOT EXISTS fitments_model_idx ON vehicle_fitments (lower(model));

CREATE TABLE IF NOT EXISTS warehouses (
    id          integer PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    city        text NOT NULL,
    state       text NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    is_branch   boolean NOT NULL DEFAULT true
);

CREATE TABLE IF NOT EXISTS stock (
    product_id      integer NOT NULL REFERENCES products(id),
    warehouse_id    integer NOT NULL REFERENCES warehouses(id),
    on_hand         integer NOT NULL DEFAULT 0,
    reserved        integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    in_transit      integer NOT NULL DEFAULT 0 CHECK (in_transit >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, warehouse_id)
);

CREATE TABLE IF NOT EXISTS customers (
    id                      integer PRIMARY KEY,
    name                    text NOT NULL,
    tier                    text NOT NULL CHECK (tier IN ('publico', 'taller', 'flotilla', 'mayorista')),
    phone                   text UNIQUE,
    email                   text,
    address                 text NOT NULL,
    city                    text NOT NULL,
    state                   text NOT NULL,
    lat                     double precision NOT NULL,
    lon                     double precision NOT NULL,
    home_warehouse_id       integer REFERENCES warehouses(id),
    delivery_window_start   time NOT NULL DEFAULT '09:00',
    delivery_window_end     time NOT NULL DEFAULT '18:00',
    updated_at              timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE IF NOT EXISTS sales_orders_id_seq START 1000000;
CREATE TABLE IF NOT EXISTS sales_orders (
    id              bigint PRIMARY KEY DEFAULT nextval('sales_orders_id_seq'),
    customer_id     integer NOT NULL REFERENCES customers(id),
    warehouse_id    integer NOT NULL REFERENCES warehouses(id),
    status          text NOT NULL CHECK (status IN
                    ('cotizacion', 'reservado', 'confirmado', 'entregado', 'cancelado', 'devuelto')),
    channel         text NOT NULL DEFAULT 'mostrador',
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivery_date   date,
    needs_delivery  boolean NOT NULL DEFAULT false,
    idempotency_key text UNIQUE
);
CREATE INDEX IF NOT EXISTS sales_orders_created_idx ON sales_orders (created_at);

CREATE SEQUENCE IF NOT EXISTS sales_order_lines_id_seq START 1000000;
CREATE TABLE IF NOT EXISTS sales_order_lines (
    id              bigint PRIMARY KEY DEFAULT nextval('sales_order_lines_id_seq'),
    order_id        bigint NOT NULL REFERENCES sales_orders(id),
    product_id      integer NOT NULL REFERENCES products(id),
    qty             integer NOT NULL CHECK (qty <> 0),
    unit_price      numeric(12,2) NOT NULL,
    unit_cost       numeric(12,2) NOT NULL
);
CREATE INDEX IF NOT EXISTS sales_order_lines_order_idx ON sales_order_lines (order_id);

CREATE SEQUENCE IF NOT EXISTS purchase_orders_id_seq START 500000;
CREATE TABLE IF NOT EXISTS purchase_orders (
    id              bigint PRIMARY KEY DEFAULT nextval('purchase_orders_id_seq'),
    supplier_id     integer NOT NULL REFERENCES suppliers(id),
    warehouse_id    integer NOT NULL REFERENCES warehouses(id),
    status          text NOT NULL CHECK (status IN ('borrador', 'enviada', 'recibida', 'cancelada')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expected_at     date,
    created_by      text NOT NULL DEFAULT 'erp',
    idempotency_key text UNIQUE
);

CREATE SEQUENCE IF NOT EXISTS purchase_order_lines_id_seq START 500000;
CREATE TABLE IF NOT EXISTS purchase_order_lines (
    id              bigint PRIMARY KEY DEFAULT nextval('purchase_order_lines_id_seq'),
    po_id           bigint NOT NULL REFERENCES purchase_orders(id),
    product_id      integer NOT NULL REFERENCES products(id),
    qty             integer NOT NULL CHECK (qty > 0),
    unit_cost       numeric(12,2) NOT NULL,
    received_qty    integer NOT NULL DEFAULT 0 CHECK (received_qty >= 0)
);

CREATE TABLE IF NOT EXISTS vehicles (
    id              integer PRIMARY KEY,
    warehouse_id    integer NOT NULL REFERENCES warehouses(id),
    plate           text NOT NULL UNIQUE,
    capacity_tires  integer NOT NULL CHECK (capacity_tires > 0),
    capacity_kg     numeric(8,1) NOT NULL,
    shift_start     time NOT NULL DEFAULT '08:00',
    shift_end       time NOT NULL DEFAULT '18:00',
    driver_name     text,
    driver_phone    text
);

CREATE SEQUENCE IF NOT EXISTS deliveries_id_seq START 1;
CREATE TABLE IF NOT EXISTS deliveries (
    id              bigint PRIMARY KEY DEFAULT nextval('deliveries_id_seq'),
    sales_order_id  bigint NOT NULL UNIQUE REFERENCES sales_orders(id),
    vehicle_id      integer REFERENCES vehicles(id),
    route_date      date NOT NULL,
    sequence        integer,
    eta_start       timestamptz,
    eta_end         timestamptz,
    status          text NOT NULL DEFAULT 'pendiente' CHECK (status IN
                    ('pendiente', 'asignada', 'en_ruta', 'entregada', 'fallida')),
    delivered_at    timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Every change in on-hand stock, with its reason (sale, receipt, transfer, adjustment).
CREATE SEQUENCE IF NOT EXISTS stock_moves_id_seq START 1;
CREATE TABLE IF NOT EXISTS stock_moves (
    id              bigint PRIMARY KEY DEFAULT nextval('stock_moves_id_seq'),
    product_id      integer NOT NULL REFERENCES products(id),
    warehouse_id    integer NOT NULL REFERENCES warehouses(id),
    qty             integer NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('venta', 'recepcion', 'traspaso', 'ajuste', 'devolucion')),
    ref             text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Transfers between branches. A transfer is created `en_transito`: the sending branch's on-hand
-- goes down and the receiving branch's in-transit up at once (refused when the sending branch
-- lacks available stock); `recibido` moves it into the receiving branch's on-hand, `cancelado`
-- back to the sender. The trigger below is the ERP's own logic, so every writer (the pipeline's
-- ERP sink, `erp simulate`) moves stock the same way, and CDC sees the stock rows change.
CREATE SEQUENCE IF NOT EXISTS stock_transfers_id_seq START 700000;
CREATE TABLE IF NOT EXISTS stock_transfers (
    id                  bigint PRIMARY KEY DEFAULT nextval('stock_transfers_id_seq'),
    product_id          integer NOT NULL REFERENCES products(id),
    from_warehouse_id   integer NOT NULL REFERENCES warehouses(id),
    to_warehouse_id     integer NOT NULL REFERENCES warehouses(id),
    qty                 integer NOT NULL CHECK (qty > 0),
    status              text NOT NULL DEFAULT 'en_transito'
                        CHECK (status IN ('en_transito', 'recibido', 'cancelado')),
    transit_days        numeric(5,2) NOT NULL DEFAULT 1 CHECK (transit_days > 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    received_at         timestamptz,
    created_by          text NOT NULL DEFAULT 'erp',
    idempotency_key     text UNIQUE,
    CHECK (from_warehouse_id <> to_warehouse_id)
);
CREATE INDEX IF NOT EXISTS stock_transfers_open_idx ON stock_transfers (created_at)
    WHERE status = 'en_transito';

CREATE OR REPLACE FUNCTION public.stock_transfer_moves() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE ref text := 'TR-' || NEW.id;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' AND NEW.status <> 'en_transito' THEN
        RAISE EXCEPTION 'a stock transfer starts en_transito, not %', NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status <> 'en_transito' THEN
        RAISE EXCEPTION 'stock transfer % is already %', NEW.id, OLD.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE stock SET on_hand = on_hand - NEW.qty, updated_at = now()
         WHERE product_id = NEW.product_id AND warehouse_id = NEW.from_warehouse_id
           AND on_hand - reserved >= NEW.qty;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'warehouse % has fewer than % available of product %',
                NEW.from_warehouse_id, NEW.qty, NEW.product_id USING ERRCODE = 'check_violation';
        END IF;
        INSERT INTO stock (product_id, warehouse_id, on_hand, in_transit)
        VALUES (NEW.product_id, NEW.to_warehouse_id, 0, NEW.qty)
        ON CONFLICT (product_id, warehouse_id) DO UPDATE
            SET in_transit = stock.in_transit + NEW.qty, updated_at = now();
        INSERT INTO stock_moves (product_id, warehouse_id, qty, kind, ref)
        VALUES (NEW.product_id, NEW.from_warehouse_id, -NEW.qty, 'traspaso', ref);
    ELSE
        UPDATE stock SET in_transit = in_transit - NEW.qty,
                         on_hand = on_hand + CASE WHEN NEW.status = 'recibido' THEN NEW.qty
                                                  ELSE 0 END,
                         updated_at = now()
         WHERE product_id = NEW.product_id AND warehouse_id = NEW.to_warehouse_id;
        IF NEW.status = 'cancelado' THEN
            UPDATE stock SET on_hand = on_hand + NEW.qty, updated_at = now()
             WHERE product_id = NEW.product_id AND warehouse_id = NEW.from_warehouse_id;
        END IF;
        INSERT INTO stock_moves (product_id, warehouse_id, qty, kind, ref)
        VALUES (NEW.product_id, CASE WHEN NEW.status = 'recibido' THEN NEW.to_warehouse_id
                                     ELSE NEW.from_warehouse_id END, NEW.qty, 'traspaso', ref);
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS stock_transfer_moves ON stock_transfers;
CREATE TRIGGER stock_transfer_moves AFTER INSERT OR UPDATE OF status ON stock_transfers
    FOR EACH ROW EXECUTE FUNCTION public.stock_transfer_moves();

-- Full before-images on UPDATE/DELETE for every CDC'd table (Debezium's `before`).
DO $$
DECLARE t text;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
        EXECUTE format('ALTER TABLE public.%I REPLICA IDENTITY FULL', t);
    END LOOP;
END $$;
