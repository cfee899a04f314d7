"""The pure conversation engine: survey model, conversation state, events and effects. No I/O."""
