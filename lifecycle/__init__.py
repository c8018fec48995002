"""The core: secret types, versions, stage labels, states, locks, encryption and the store."""
