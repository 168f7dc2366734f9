"""
The model/backend/device/precision options every offline tool shares.

One parser helper and one config type, so ``replay``, ``evaluate`` and
``bench`` name and default these flags the same way as the node's parameters.
"""
from dataclasses import dataclass

from depth_trt_ros.inference.backends import BACKEND_NAMES
from depth_trt_ros.inference.backends.base import PRECISIONS
from depth_trt_ros.inference.model import DEFAULT_MODEL
from depth_trt_ros.inference.preprocess import DEFAULT_INPUT_SIZE


@dataclass(frozen=True)
class EstimatorConfig:
    """What ``build_estimator`` needs; field names match the node's parameters."""

    model_path: str = DEFAULT_MODEL
    backend: str = 'auto'
    device: str = 'auto'
    precision: str = 'auto'
    input_size: int = DEFAULT_INPUT_SIZE
    cuda_graph: bool = True
    torch_compile: bool = False
    colormap: str = 'inferno'

    def label(self) -> str:
        return f'{self.model_path} [{self.backend}, {self.device}, {self.precision}]'


def add_model_arguments(parser, multiple: bool = False):
    """
    Add ``--model --backend --device --precision --input-size``.

    With ``multiple``, ``--model`` may repeat (tools that compare models).
    """
    if multiple:
        parser.add_argument('--model', action='append', dest='models', metavar='MODEL',
                            help=f'model reference, repeatable (default {DEFAULT_MODEL})')
    else:
        parser.add_argument('--model', default=DEFAULT_MODEL,
                            help='hub id, save_pretrained directory, .onnx, .engine or '
                            'random:small (default %(default)s)')
    parser.add_argument('--backend', default='auto', choices=BACKEND_NAMES)
    parser.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--precision', default='auto', choices=('auto',) + PRECISIONS)
    parser.add_argument('--input-size', type=int, default=DEFAULT_INPUT_SIZE,
                        help='network input size of the short side, multiple of 14')


def config_from_args(args, model: str = None) -> EstimatorConfig:
    return EstimatorConfig(model_path=model or args.model, backend=args.backend,
                           device=args.device, precision=args.precision,
                           input_size=args.input_size)
