"""The operator's cloud: MQTT brokers, access rules and the compute controller."""
