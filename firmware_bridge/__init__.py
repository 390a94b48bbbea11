"""Sources of recordings: BLE wearables, phones, clock alignment and crash-safe recording."""
