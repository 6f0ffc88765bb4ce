"""Tests of the cloud side: brokers, access control, controller, cloud client."""
