"""The WhatsApp sales agent's pure logic: understanding, dialog, tools, grounding guard.

No I/O here: the ERP is read through the injected `CatalogReader` (implemented by
`sources.erp_reader.ErpReader`) and the LLM through the injected `LlmResponder` (implemented by
`streams.openai_client.OpenAIResponder`). One call per inbound message:

    outcome = await run_turn(state, inbound, reader, now=now, llm=responder_or_None)

`outcome.state` is the new `ConversationState` (the Faust table value, keyed by phone),
`outcome.replies` go to `messages.outbound`, `outcome.order` (a `CreateSalesOrder`, or None) to
`erp.commands`, and `outcome.handoff` says a human should take the conversation.
"""

from processors.sales_agent.catalog import CatalogReader
from processors.sales_agent.state import ConversationState
from processors.sales_agent.turn import LlmResponder, TurnOutcome, run_turn

__all__ = ["CatalogReader", "ConversationState", "LlmResponder", "TurnOutcome", "run_turn"]
