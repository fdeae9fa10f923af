"""The Temporal worker process: Stride's workflows and activities, and the event bridge."""
