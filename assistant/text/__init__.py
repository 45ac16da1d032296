"""Text pieces every stage shares: words and tokens, the dictionary bridges."""
