"""
Depth-Anything-V2 models from Hugging Face, and random-weight stand-ins.

A model reference is a hub id (``depth-anything/Depth-Anything-V2-Small-hf``),
a local directory saved with ``save_pretrained``, or ``random:<size>`` for a
model with the real architecture and seeded random weights (tests, offline
demos). Nothing here knows about ROS.
"""
import logging
import os
from pathlib import Path
import socket
from typing import Dict
from urllib.parse import urlparse

import torch

from depth_trt_ros.inference.backends.base import ModelLoadError

DEFAULT_MODEL = 'depth-anything/Depth-Anything-V2-Small-hf'
RANDOM_PREFIX = 'random:'
_LOG = logging.getLogger(__name__)


def _random_config(size: str):
    from transformers import DepthAnythingConfig, Dinov2Config

    metric = size.endswith('-metric')
    base = size[:-len('-metric')] if metric else size
    if base == 'small':
        # transformers' default DepthAnythingConfig is the V2-Small architecture.
        config = DepthAnythingConfig()
    elif base == 'tiny':
        backbone = Dinov2Config(hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                                intermediate_size=64, image_size=518, patch_size=14,
                                out_indices=[1, 2, 3, 4], reshape_hidden_states=False,
                                apply_layernorm=True)
        config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=32,
                                     neck_hidden_sizes=[8, 16, 32, 32], fusion_hidden_size=16,
                                     head_hidden_size=8)
    else:
        raise ModelLoadError(f"unknown random model '{RANDOM_PREFIX}{size}': "
                             "use random:small, random:tiny or random:<size>-metric")
    if metric:
        config.depth_estimation_type = 'metric'
        config.max_depth = 20
    return config


def load_depth_model(reference: str = DEFAULT_MODEL):
    """Return a ``DepthAnythingForDepthEstimation`` in eval mode on the CPU."""
    from transformers import DepthAnythingForDepthEstimation

    if reference.startswith(RANDOM_PREFIX):
        config = _random_config(reference[len(RANDOM_PREFIX):])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = DepthAnythingForDepthEstimation(config)
        model.name_or_path = reference
        return model.eval()
    try:
        model = DepthAnythingForDepthEstimation.from_pretrained(reference)
    except (OSError, ValueError) as error:
        where = 'directory' if Path(reference).exists() else 'hub id'
        raise ModelLoadError(
            f"cannot load Depth-Anything model from {where} '{reference}': {error}. "
            'Give a directory written by save_pretrained, a reachable hub id, or '
            'random:small for random weights') from error
    model.name_or_path = reference
    return model.eval()


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """One quick connection attempt, instead of the hub client's minute of retries."""
    if os.environ.get('HF_HUB_OFFLINE', '0') not in ('0', ''):
        return False
    host = urlparse(os.environ.get('HF_ENDPOINT', 'https://huggingface.co')).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def reachable_or_random(reference: str = DEFAULT_MODEL, fallback: str = RANDOM_PREFIX + 'small'):
    """
    Return ``(reference, note)``: ``reference`` if its config loads, else ``fallback``.

    Only the small config file is fetched to decide, so the caller loads the
    weights once. The note says plainly when the weights are random, so that
    no one mistakes the output for real depth.
    """
    if reference.startswith(RANDOM_PREFIX):
        return reference, f'{reference} (random weights, as asked)'
    from transformers import AutoConfig
    try:
        local = Path(reference).is_dir() or not _hub_reachable()
        AutoConfig.from_pretrained(reference, local_files_only=local)
        return reference, reference
    except (OSError, ValueError) as error:
        _LOG.warning('cannot load %s: %s', reference, str(error).splitlines()[0])
        return fallback, (f'{fallback} (RANDOM WEIGHTS: {reference} could not be loaded, '
                          'e.g. offline; the depth maps show the pipeline working, not '
                          'real depth)')


DEPTH_TYPE_KEY = 'depth_estimation_type'


def depth_metadata(model) -> Dict[str, str]:
    """
    Return the depth facts of a transformers model as the key/value text formats store.

    ONNX exports keep them in metadata_props and the torch backend reports
    them as its ``model_metadata``, so :func:`is_metric_metadata` reads them
    the same way whatever runs the model.
    """
    config = model.config
    return {DEPTH_TYPE_KEY: getattr(config, DEPTH_TYPE_KEY, 'relative'),
            'max_depth': str(float(getattr(config, 'max_depth', 1.0))),
            'source_model': str(getattr(model, 'name_or_path', ''))}


def is_metric_metadata(metadata: Dict[str, str]) -> bool:
    """Whether a model's metadata says it gives metres (else relative inverse depth)."""
    return metadata.get(DEPTH_TYPE_KEY) == 'metric'
