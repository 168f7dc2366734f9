"""
Topic names relative to a camera's namespace, as every node and tool derives them.

REP 118: ``depth`` carries metres, and depth_image_proc, Nav2 and every other
consumer read it so. A relative model's output (inverse depth without unit,
larger = nearer) must not be mistaken for that, so it goes out under a name
that says what it holds, with its colorized view and camera_info beside it.
"""
METRIC_DEPTH = 'depth'
RELATIVE_DEPTH = 'relative_inverse_depth'


def depth_topic(metric: bool) -> str:
    """``depth`` (metres, REP 118) for a metric model, ``relative_inverse_depth`` otherwise."""
    return METRIC_DEPTH if metric else RELATIVE_DEPTH


def channel_prefix(image_topic: str) -> str:
    """Return the namespace of an image topic: ``left/image`` -> ``left``, ``image`` -> ''."""
    return image_topic.rsplit('/', 1)[0] if '/' in image_topic.strip('/') else ''


def join_topic(prefix: str, name: str) -> str:
    """Return ``name`` inside the relative namespace ``prefix`` ('' = the node's own)."""
    return f'{prefix}/{name}' if prefix else name
