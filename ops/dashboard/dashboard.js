// TopLlantas status dashboard: renders the JSON of /dashboard/data.json and polls it.
"use strict";
(function () {
  const POLL_MS = 5000;
  const TZ = "America/Mexico_City";
  const money = new Intl.NumberFormat("es-MX", { style: "currency", currency: "MXN",
                                                 maximumFractionDigits: 0 });
  const num = new Intl.NumberFormat("es-MX");
  const pct = new Intl.NumberFormat("es-MX", { style: "percent", maximumFractionDigits: 1 });
  const LEVELS = { critico: "Crítico", alto: "Alto", medio: "Medio", oportunidad: "Oportunidad",
                   sin_movimiento: "Sin movimiento", sobrestock: "Sobrestock" };
  const CHANNELS = { whatsapp: "WhatsApp", email: "Correo" };
  const INSIGHTS = { creciendo: "creciendo", declinando: "declinando", anomalia: "anomalía" };
  const ERRORS = { failed_messages: "mensajes fallidos", failed_commands: "comandos ERP fallidos" };
  const token = new URLSearchParams(location.search).get("token") || "";
  let lastOk = Date.now();

  const $ = (id) => document.getElementById(id);
  const text = (id, value) => { $(id).textContent = value; };

  function rows(id, items) {
    const list = $(id);
    list.replaceChildren(...items.map(([label, value, cls]) => {
      const li = document.createElement("li");
      const a = document.createElement("span");
      const b = document.createElement("span");
      a.textContent = label;
      b.textContent = value;
      if (cls) li.className = cls;
      li.append(a, b);
      return li;
    }));
    if (!items.length) {
      const li = document.createElement("li");
      li.textContent = "Sin datos";
      list.append(li);
    }
  }

  function svg(tag, attrs, content) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (content !== undefined) el.textContent = content;
    return el;
  }

  // Vertical bars (one per value) with a few x labels.
  function columns(id, values, labels, cls) {
    const el = $(id);
    const w = 480, h = 110, pad = 16;
    el.setAttribute("viewBox", `0 0 ${w} ${h}`);
    el.setAttribute("preserveAspectRatio", "none");
    const max = Math.max(1, ...values);
    const bw = (w - 4) / values.length;
    const parts = [];
    values.forEach((v, i) => {
      const bh = (h - pad - 4) * (v / max);
      const r = svg("rect", { x: 2 + i * bw + 1, y: h - pad - bh, width: Math.max(1, bw - 2),
                              height: bh, class: cls });
      r.append(svg("title", {}, `${labels[i]}: ${num.format(Math.round(v))}`));
      parts.push(r);
      if (i % 6 === 0) parts.push(svg("text", { x: 2 + i * bw, y: h - 3 }, labels[i]));
    });
    el.replaceChildren(...parts);
  }

  // Horizontal bars as HTML rows (readable at any width): label, bar, value.
  function barsByName(id, items) {
    const max = Math.max(1, ...items.map((i) => i.count));
    const list = $(id);
    list.replaceChildren(...items.map((item) => {
      const li = document.createElement("li");
      const label = document.createElement("span");
      const track = document.createElement("span");
      const bar = document.createElement("span");
      const value = document.createElement("span");
      label.textContent = item.topic;
      track.className = "track";
      bar.style.width = `${Math.max(1, Math.round(100 * item.count / max))}%`;
      value.textContent = num.format(item.count);
      track.append(bar);
      li.append(label, track, value);
      return li;
    }));
    if (!items.length) {
      const li = document.createElement("li");
      li.textContent = "Sin eventos hoy";
      list.append(li);
    }
  }

  function render(d, live) {
    const ex = d.executive;
    const s = ex.sales;
    text("sales-revenue", money.format(s.revenue));
    text("sales-target", s.target ? `Meta ${money.format(s.target)} · avance ${pct.format(s.progress)}`
                                  : "Sin meta definida (faltan semanas de historia)");
    const bar = $("sales-progress");
    bar.style.width = `${Math.min(100, Math.round((s.progress || 0) * 100))}%`;
    bar.className = s.progress !== null && s.progress < 0.5 ? "behind" : "";
    text("sales-detail", `Margen ${money.format(s.margin)} · ${num.format(s.lines)} partidas`);
    columns("chart-sales-hour", s.by_hour, s.by_hour.map((_, h) => `${h}h`), "v");
    rows("sales-branches", s.by_branch.map((b) => [b.branch, money.format(b.revenue)]));

    text("stock-critical", num.format(ex.stock.critical));
    rows("stock-levels", Object.entries(ex.stock.open_by_level).filter(([, n]) => n)
      .map(([lvl, n]) => [LEVELS[lvl] || lvl, num.format(n), `lvl-${lvl}`]));

    const dl = ex.deliveries;
    text("deliveries-pct", dl.on_time_pct === null ? "—" : pct.format(dl.on_time_pct));
    text("deliveries-detail", `${num.format(dl.on_time)} a tiempo de ${num.format(dl.delivered)}` +
      ` entregadas · ${num.format(dl.late)} tarde · ${num.format(dl.failed)} fallidas`);

    const fc = ex.forecast;
    text("forecast-summary", fc.available ? Object.entries(fc.counts)
      .map(([k, n]) => `${num.format(n)} ${INSIGHTS[k] || k}`).join(" · ")
      : "Sin pronóstico todavía (corre cada noche a las 2:00)");
    rows("forecast-items", fc.items.map((i) => [
      `${INSIGHTS[i.kind] || i.kind}: ${i.product || i.sku || "producto"}` +
      `${i.branch ? " · " + i.branch : ""} — ${i.detail}`, ""]));

    text("agent-conversations", num.format(ex.agent.conversations));
    text("agent-sales", `${num.format(ex.agent.sales_closed)} ventas cerradas por el agente`);

    const tbody = $("integrations");
    tbody.replaceChildren(...d.integrations.map((i) => {
      const tr = document.createElement("tr");
      const state = i.up === null ? ["", "Sin dato"] : i.up ? ["ok", "En línea"] : ["bad", "Caído"];
      const cells = [i.label, state[1], i.latency_ms === null ? "—" : `${i.latency_ms} ms`,
                     i.detail];
      cells.forEach((c, n) => {
        const td = document.createElement("td");
        if (n === 1) {
          const dot = document.createElement("span");
          dot.className = `dot ${state[0]}`;
          td.append(dot);
        }
        td.append(c);
        tr.append(td);
      });
      return tr;
    }));

    barsByName("chart-events", d.events_today);
    rows("alerts-today", Object.entries(d.alerts_today)
      .map(([lvl, n]) => [LEVELS[lvl] || lvl, num.format(n), `lvl-${lvl}`]));
    rows("messages-today", [
      ...Object.entries(d.messages_today.sent).map(([c, n]) => [`${CHANNELS[c] || c}`, num.format(n)]),
      ...Object.entries(d.messages_today.failed).map(([c, n]) => [`${CHANNELS[c] || c} fallidos`,
                                                                   num.format(n), "lvl-critico"]),
    ]);

    const e = d.errors_24h;
    const kinds = Object.entries(e.by_kind).map(([k, n]) => `${num.format(n)} ${ERRORS[k] || k}`);
    text("errors-summary", `${num.format(e.dead_letters_total)} cartas muertas` +
      (kinds.length ? ` · ${kinds.join(" · ")}` : ""));
    columns("chart-errors", e.by_hour, e.by_hour.map((_, i) => `-${23 - i}h`), "err");
    rows("dead-letters", Object.entries(e.dead_letters).map(([t, n]) => [t, num.format(n)]));

    const behind = d.consumer_lag.filter((l) => l.lag > 0);
    const total = behind.reduce((sum, l) => sum + l.lag, 0);
    text("lag-summary", `${num.format(total)} registros pendientes · ` +
      `${num.format(d.consumer_lag.length - behind.length)} de ${num.format(d.consumer_lag.length)}` +
      " tópicos al día (particiones de este worker)");
    rows("consumer-lag", behind.map((l) => [l.topic, num.format(l.lag)]));
    rows("jobs", d.jobs.map((j) => [j.name, j.next_run ? new Date(j.next_run).toLocaleString(
      "es-MX", { timeZone: TZ, dateStyle: "short", timeStyle: "short" }) : j.schedule]));
    $("jobs").querySelectorAll("li").forEach((li, i) => {
      if (d.jobs[i]) li.title = d.jobs[i].description;
    });

    const up = d.worker.uptime_s;
    text("worker", `Worker ${d.worker.id} · en línea desde hace ${Math.floor(up / 3600)} h ` +
      `${Math.floor(up % 3600 / 60)} min · ${d.worker.partitions} particiones asignadas`);
    lastOk = Date.now();
    const when = new Date(d.generated_at).toLocaleTimeString("es-MX", { timeZone: TZ });
    const status = $("status");
    status.textContent = `Actualizado ${when} (${d.local_date})${live ? " · en vivo" : ""}`;
    status.className = "status";
  }

  async function poll() {
    try {
      const response = await fetch("data.json", { headers: { Authorization: `Bearer ${token}` },
                                                  cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      render(await response.json(), true);
    } catch (err) {
      const status = $("status");
      const ago = Math.round((Date.now() - lastOk) / 1000);
      status.textContent = `Sin conexión con el worker (${err.message}); datos de hace ${ago} s`;
      status.className = "status stale";
    }
  }

  render(JSON.parse($("initial-data").textContent), false);
  setInterval(poll, POLL_MS);
})();
