"""Intent understanding of the sales agent: the taxonomy, the labelled corpus and the
statistical classifier trained on it (`understanding.py` combines it with the slot rules)."""
