"""Recorded data for the offline tools: rosbag2 reading and writing, replay, reports."""
