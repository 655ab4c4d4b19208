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

GRANT USAGE ON SCHEMA public, topllantas TO topllantas_sink;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO topllantas_sink;
GRANT INSERT, UPDATE ON public.purchase_orders, public.purchase_order_lines,
    public.sales_orders, public.sales_order_lines, public.deliveries TO topllantas_sink;
GRANT UPDATE (reserved, updated_at) ON public.stock TO topllantas_sink;
GRANT INSERT, UPDATE (status, received_at) ON public.stock_transfers TO topllantas_sink;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO topllantas_sink;
GRANT SELECT, INSERT ON topllantas.applied_commands TO topllantas_sink;
GRANT SELECT, INSERT, UPDATE ON topllantas.sent_messages TO topllantas_sink;

GRANT USAGE ON SCHEMA public TO topllantas_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO topllantas_reader;
