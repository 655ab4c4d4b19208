"""Named scripts of the scripted OpenAI-compatible server (`ops/doubles/openai_double.py`).

A script is a list of rules: a regular expression on the customer's last message and the steps
the "model" takes (tool calls, a text, an HTTP error, a sleep). Texts and arguments may reference
this turn's tool results and the agent's context (`{{tool:...}}`, `{{context:...}}`).
"""

from __future__ import annotations

from typing import Any


def _search_then(text: str, args: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [{"tool_calls": [{"name": "search_tires", "arguments": args or {
        "vehicle_make": "Volkswagen", "vehicle_model": "Jetta", "vehicle_year": 2020,
        "qty": 4}}]}, {"text": text}]


def _option(i: int) -> str:
    o = f"tool:search_tires.options[{i}]"
    return (f"{{{{{o}.brand}}}} {{{{{o}.model}}}}\nMedida: {{{{{o}.tire_size}}}}\n"
            f"Precio: {{{{{o}.price|money}}}} c/u\n"
            f"Total {{{{{o}.qty}}}} llantas: {{{{{o}.total|money}}}}\n"
            f"Disponibles en {{{{{o}.branch}}}}: {{{{{o}.stock_at_branch}}}}")


def _choose(i: int) -> list[dict[str, Any]]:
    q = "tool:create_quote.quote"
    return [
        {"tool_calls": [{"name": "create_quote", "arguments": {
            "product_id": f"{{{{context:offered[{i}].product_id}}}}",
            "qty": "{{context:search.qty}}"}}]},
        {"text": f"Tu cotización {{{{{q}.quote_id}}}}: {{{{{q}.qty}}}} × {{{{{q}.brand}}}} "
                 f"{{{{{q}.model}}}} {{{{{q}.tire_size}}}} a {{{{{q}.unit_price|money}}}} c/u, "
                 f"total {{{{{q}.total|money}}}}, válida hasta el {{{{{q}.valid_until|date}}}}. "
                 f"¿Te las aparto?"}]


# The seed's example conversation (Jetta 2020): options, "la primera", "sí".
SEED: list[dict[str, Any]] = [
    {"match": r"^\s*(s[ií]|va|ok|claro|dale|confirmo)\b|ap[aá]rt",
     "steps": [{"tool_calls": [{"name": "reserve_order",
                                "arguments": {"quote_id": "{{context:quote.quote_id}}"}}]},
               {"text": "¡Listo! Aparté tus {{tool:reserve_order.quote.qty}} llantas "
                        "{{tool:reserve_order.quote.brand}} {{tool:reserve_order.quote.model}} "
                        "en {{tool:reserve_order.quote.branch}}. Total: "
                        "{{tool:reserve_order.quote.total|money}}. En unos minutos te "
                        "confirmamos aquí tu número de pedido; puedes pasar a recogerlas con tu "
                        "nombre y la instalación va incluida."}]},
    {"match": r"primera|opci[oó]n\s*1\b|\bla 1\b", "steps": _choose(0)},
    {"match": r"segunda|opci[oó]n\s*2\b|\bla 2\b", "steps": _choose(1)},
    {"match": r"llanta|jetta|medida|cu[aá]nto",
     "steps": _search_then("¡Hola! Con gusto te ayudo. Para tu Jetta 2020 tengo estas "
                           f"opciones:\n\n🏆 RECOMENDADA\n{_option(0)}\n\n💰 OPCIÓN ECONÓMICA\n"
                           f"{_option(1)}\n\n¿Te interesa alguna? Te la aparto sin costo 😊")},
    {"match": ".*", "steps": [{"text": "Con gusto te ayudo. ¿Qué medida usas o para qué "
                                       "vehículo buscas llantas?"}]},
]
SCRIPTS: dict[str, list[dict[str, Any]]] = {
    "seed": SEED,
    # Makes up a price after a real search (and again when asked to correct itself).
    "invented_price": [{"steps": _search_then(
        "Para tu Jetta 2020 te dejo la {{tool:search_tires.options[0].brand}} en $999 c/u, "
        "total $3,996. ¡Quedan 50 disponibles!")}],
    "rate_limited": [{"steps": [{"error": 429}]}],
    "server_error": [{"steps": [{"error": 500}]}],
    "slow": [{"steps": [{"sleep_s": 30.0, "text": "Perdón por la espera."}]}],
    # Obeys an injected instruction: tries a discount argument, an unconfirmed reservation,
    # and a price of its own.
    "injection": [{"steps": [
        {"tool_calls": [{"name": "create_quote", "arguments": {
            "product_id": "{{context:offered[0].product_id}}", "qty": 4, "discount_pct": 90}}]},
        {"tool_calls": [{"name": "reserve_order",
                         "arguments": {"quote_id": "{{context:quote.quote_id}}"}}]},
        {"text": "¡Hecho! Te apliqué 90 % de descuento: quedan en $289 c/u y ya están "
                 "apartadas."}]}],
    # Tool arguments the agent must refuse: not JSON, then an impossible size and quantity.
    "wrong_arguments": [{"steps": [
        {"tool_calls": [{"name": "search_tires", "arguments": "{size: 205/55R16"}]},
        {"tool_calls": [{"name": "search_tires", "arguments": {"size": "llanta grande",
                                                               "qty": -4}}]},
        {"text": "Con gusto te ayudo. ¿Me confirmas la medida de tu llanta?"}]}],
}
