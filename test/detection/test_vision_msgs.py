"""The vision_msgs types the nodes use have the vision_msgs 4.x layout and cross DDS."""
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from vision_msgs import msg

# vision_msgs 4.x (Humble and later), field -> type as rosidl reports it.
LAYOUT = {
    'Point2D': {'x': 'double', 'y': 'double'},
    'Pose2D': {'position': 'vision_msgs/Point2D', 'theta': 'double'},
    'BoundingBox2D': {'center': 'vision_msgs/Pose2D', 'size_x': 'double', 'size_y': 'double'},
    'BoundingBox3D': {'center': 'geometry_msgs/Pose', 'size': 'geometry_msgs/Vector3'},
    'ObjectHypothesis': {'class_id': 'string', 'score': 'double'},
    'ObjectHypothesisWithPose': {'hypothesis': 'vision_msgs/ObjectHypothesis',
                                 'pose': 'geometry_msgs/PoseWithCovariance'},
    'Detection2D': {'header': 'std_msgs/Header',
                    'results': 'sequence<vision_msgs/ObjectHypothesisWithPose>',
                    'bbox': 'vision_msgs/BoundingBox2D', 'id': 'string'},
    'Detection2DArray': {'header': 'std_msgs/Header',
                         'detections': 'sequence<vision_msgs/Detection2D>'},
    'Detection3D': {'header': 'std_msgs/Header',
                    'results': 'sequence<vision_msgs/ObjectHypothesisWithPose>',
                    'bbox': 'vision_msgs/BoundingBox3D', 'id': 'string'},
    'Detection3DArray': {'header': 'std_msgs/Header',
                         'detections': 'sequence<vision_msgs/Detection3D>'},
}


@pytest.mark.parametrize('name', sorted(LAYOUT))
def test_field_layout_matches_vision_msgs_4(name):
    assert getattr(msg, name).get_fields_and_field_types() == LAYOUT[name]


def test_nested_detection_survives_serialization():
    detection = msg.Detection2D(id='7')
    detection.bbox.center.position.x = 12.5
    detection.bbox.size_y = 3.0
    hypothesis = msg.ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id = 'person'
    hypothesis.hypothesis.score = 0.75
    detection.results.append(hypothesis)
    array = msg.Detection2DArray(detections=[detection])
    array.header.frame_id = 'camera'

    decoded = deserialize_message(serialize_message(array), msg.Detection2DArray)

    assert decoded == array
