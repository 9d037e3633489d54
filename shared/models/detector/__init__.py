"""Real-vs-generated detectors (one logit, p(generated) = sigmoid) and their Grad-CAM explanations."""

from shared.models.detector.gradcam import grad_cam
from shared.models.detector.overlay import overlay_heatmap
from shared.models.detector.resnet import ResNetDetector
from shared.models.detector.small_cnn import SmallCNNDetector

__all__ = ["ResNetDetector", "SmallCNNDetector", "grad_cam", "overlay_heatmap"]
