"""Detection tests: vision_msgs on the paths before any test module imports it."""
from detection.vision_msgs_env import ensure_vision_msgs

VISION_MSGS_SOURCE = ensure_vision_msgs()


def pytest_report_header(config):
    return f'vision_msgs: {VISION_MSGS_SOURCE}'
