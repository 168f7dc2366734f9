"""
Box IoU and class-aware greedy non-maximum suppression.

``batched_nms`` is ``torchvision.ops.batched_nms`` (one fused kernel on
CUDA, C++ on the CPU) wherever torchvision imports: install it with the
``gpu`` extra (``pip install .[gpu]``, requirements/gpu.txt). Without
torchvision, or with one built for another torch (its operators then fail
to register), the same greedy NMS runs in plain torch (``torch_batched_nms``),
which is slower: ~128 ms for ~2,100 candidates on a CPU.
"""
import torch


def _import_torchvision_nms():
    try:
        from torchvision.ops import batched_nms as torchvision_batched_nms
    # A torchvision built for another torch raises RuntimeError or OSError, not ImportError.
    except (ImportError, RuntimeError, OSError) as error:
        return None, f'torch (torchvision unavailable: {str(error).splitlines()[0]})'
    return torchvision_batched_nms, 'torchvision'


_torchvision_batched_nms, NMS_IMPLEMENTATION = _import_torchvision_nms()


def xywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """Centre/size boxes ``[..., 4]`` to corner boxes."""
    centre, size = boxes[..., :2], boxes[..., 2:4]
    return torch.cat((centre - size / 2, centre + size / 2), dim=-1)


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Areas of xyxy boxes ``[N, 4]``; inverted boxes count as empty."""
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def box_iou(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of xyxy boxes ``[N, 4]`` x ``[M, 4]`` -> ``[N, M]``."""
    top_left = torch.maximum(first[:, None, :2], second[None, :, :2])
    bottom_right = torch.minimum(first[:, None, 2:], second[None, :, 2:])
    intersection = (bottom_right - top_left).clamp(min=0).prod(dim=-1)
    union = box_area(first)[:, None] + box_area(second)[None, :] - intersection
    return intersection / union.clamp(min=1e-9)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """
    Return the indices of the boxes greedy NMS keeps, highest score first.

    Exact greedy NMS without a per-box Python loop: box j is kept iff no kept
    box ranked above it overlaps it by more than ``iou_threshold``. Iterating
    that rule from "all kept" fixes one more rank per pass and usually
    converges in a handful of passes (the length of the longest suppression chain).
    """
    order = scores.argsort(descending=True)
    overlaps = box_iou(boxes[order], boxes[order]).triu_(diagonal=1) > iou_threshold
    keep = torch.ones(order.numel(), dtype=torch.bool, device=boxes.device)
    for _ in range(order.numel()):
        suppressed = (overlaps & keep[:, None]).any(dim=0)
        updated = ~suppressed
        if torch.equal(updated, keep):
            break
        keep = updated
    return order[keep]


def torch_batched_nms(boxes: torch.Tensor, scores: torch.Tensor, class_ids: torch.Tensor,
                      iou_threshold: float) -> torch.Tensor:
    """Per-class NMS in plain torch: the fallback where torchvision is missing."""
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    # Shift each class to its own region of the plane, far from every other class.
    span = boxes.max() - boxes.min() + 1
    shifted = boxes + (class_ids.to(boxes.dtype) * span)[:, None]
    return nms(shifted, scores, iou_threshold)


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, class_ids: torch.Tensor,
                iou_threshold: float) -> torch.Tensor:
    """Per-class NMS in one call: boxes of different classes never suppress each other."""
    if _torchvision_batched_nms is None:
        return torch_batched_nms(boxes, scores, class_ids, iou_threshold)
    return _torchvision_batched_nms(boxes, scores, class_ids, iou_threshold)
