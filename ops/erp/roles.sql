-- Least-privilege roles of the pipeline. Idempotent.
-- topllantas_sink: the ERP sink; writes only the tables its commands touch, plus its own ledger.
-- topllantas_reader: the sales agent's read-only path.

DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'topllantas_sink') THEN
        CREATE ROLE topllantas_sink LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'topllantas_reader') THEN
        CREATE ROLE topllantas_reader LOGIN;
    END IF;
END $$;

CREATE SCHEMA IF NOT EXISTS topllantas;
-- The sink's idempotency ledger: one row per applied command, never CDC'd.
CREATE TABLE IF NOT EXISTS topllantas.applied_commands (
    idempotency_key text PRIMARY KEY,
    command_type    text NOT NULL,
    applied_at      timestamptz NOT NULL DEFAULT now(),
    result          jsonb NOT NULL
);
-- The message sinks' ledger (WhatsApp, e-mail): claimed before the provider call, settled after.
-- status: claimed -> sending (provider call in flight) -> sent | failed (nothing went out, may be
-- claimed again) | unknown (the claimer died mid-call: never resent; sinks/erp/message_ledger.py).
CREATE TABLE IF NOT EXISTS topllantas.sent_messages (
    idempotency_key     text PRIMARY KEY,
    channel             text NOT NULL,
    recipient           text NOT NULL,
    status              text NOT NULL CHECK (status IN ('claimed', 'sending', 'sent', 'failed',
                                                  'unknown')),
    claimed_by          text NOT NULL,
    claimed_at          timestamptz NOT NULL DEFAULT now(),
    attempts            integer NOT NULL DEFAULT 1,
    provider_message_id text,
    used_template       boolean NOT NULL DEFAULT false,
    sent_at             timestamptz,
    error               text
);
CREATE INDEX IF NOT EXISTS sent_messages_provider_idx
    ON topllantas.sent_messages (provider_message_id);

-- Each role gets only the columns its statements use (sinks/erp/statements.py,
-- sources/erp_reader.py); every run starts from nothing, so a grant removed here is revoked.
-- Neither role reads customers' or buyers' phones, e-mails or addresses: the reader looks up
-- the one customer (or buyer) writing on WhatsApp through the SECURITY DEFINER functions below.
-- Foreign keys are checked as the tables' owner, so INSERTs need no SELECT on customers; the
-- sink reads its tables' foreign-key columns so that a violation names the missing key.
REVOKE ALL ON ALL TABLES IN SCHEMA public, topllantas FROM topllantas_sink, topllantas_reader;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM topllantas_sink, topllantas_reader;

GRANT USAGE ON SCHEMA public, topllantas TO topllantas_sink;
GRANT SELECT (id, cost) ON public.products TO topllantas_sink;
GRANT SELECT (product_id, warehouse_id, reserved), UPDATE (reserved, updated_at)
    ON public.stock TO topllantas_sink;
-- new orders; of an existing order only its delivery date (rescheduling), never its status
GRANT SELECT (id, customer_id, warehouse_id, status, needs_delivery, delivery_date),
    INSERT (id, customer_id, warehouse_id, status, channel, delivery_date, needs_delivery,
            idempotency_key),
    UPDATE (delivery_date) ON public.sales_orders TO topllantas_sink;
GRANT SELECT (id, order_id, product_id),
    INSERT (order_id, product_id, qty, unit_price, unit_cost)
    ON public.sales_order_lines TO topllantas_sink;
-- a day's draft order is found by its key and takes lines only while `borrador`
GRANT SELECT (id, supplier_id, warehouse_id, status, idempotency_key),
    INSERT (id, supplier_id, warehouse_id, status, expected_at, created_by, idempotency_key)
    ON public.purchase_orders TO topllantas_sink;
GRANT SELECT (id, po_id, product_id), INSERT (id, po_id, product_id, qty, unit_cost)
    ON public.purchase_order_lines TO topllantas_sink;
GRANT SELECT, INSERT (sales_order_id, vehicle_id, route_date, sequence, eta_start, eta_end,
                      status, updated_at),
    UPDATE (vehicle_id, route_date, sequence, eta_start, eta_end, status, updated_at)
    ON public.deliveries TO topllantas_sink;
GRANT SELECT (id, product_id, from_warehouse_id, to_warehouse_id, idempotency_key),
    INSERT (id, product_id, from_warehouse_id, to_warehouse_id, qty, transit_days, created_by,
            idempotency_key),
    UPDATE (status, received_at) ON public.stock_transfers TO topllantas_sink;
GRANT USAGE ON SEQUENCE public.sales_orders_id_seq, public.sales_order_lines_id_seq,
    public.purchase_orders_id_seq, public.purchase_order_lines_id_seq,
    public.deliveries_id_seq, public.stock_transfers_id_seq TO topllantas_sink;
GRANT SELECT, INSERT ON topllantas.applied_commands TO topllantas_sink;
GRANT SELECT, INSERT, UPDATE ON topllantas.sent_messages TO topllantas_sink;

GRANT USAGE ON SCHEMA public, topllantas TO topllantas_reader;
GRANT SELECT ON public.products, public.brands, public.vehicle_fitments, public.warehouses,
    public.stock, public.sales_orders, public.deliveries TO topllantas_reader;

-- The customer whose WhatsApp number ends in these 10 digits (none when two share them).
CREATE OR REPLACE FUNCTION topllantas.customer_by_phone(last10 text)
RETURNS SETOF public.customers
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT c.* FROM public.customers c
    WHERE right(regexp_replace(coalesce(c.phone, ''), '\D', '', 'g'), 10) = last10
      AND length(last10) = 10
      AND (SELECT count(*) FROM public.customers o
           WHERE right(regexp_replace(coalesce(o.phone, ''), '\D', '', 'g'), 10) = last10) = 1
$$;
CREATE OR REPLACE FUNCTION topllantas.is_buyer(phone text)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT EXISTS (SELECT 1 FROM public.buyers b WHERE b.phone = is_buyer.phone)
$$;
REVOKE ALL ON FUNCTION topllantas.customer_by_phone(text), topllantas.is_buyer(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION topllantas.customer_by_phone(text), topllantas.is_buyer(text)
    TO topllantas_reader;
