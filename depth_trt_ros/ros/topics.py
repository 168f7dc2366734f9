"""Topic names relative to a camera's namespace, as every node and tool derives them."""


def channel_prefix(image_topic: str) -> str:
    """Return the namespace of an image topic: ``left/image`` -> ``left``, ``image`` -> ''."""
    return image_topic.rsplit('/', 1)[0] if '/' in image_topic.strip('/') else ''


def join_topic(prefix: str, name: str) -> str:
    """Return ``name`` inside the relative namespace ``prefix`` ('' = the node's own)."""
    return f'{prefix}/{name}' if prefix else name
