"""The inference thread launches, overlaps and finishes jobs in the right order."""
import time

import pytest

from depth_trt_ros.ros.worker import Mailbox, Pipeline


class Recorder:
    """A launch and a finish that log what they did, in order."""

    def __init__(self, mailbox: Mailbox, frames_behind: int = 0):
        self.mailbox = mailbox
        self.events = []
        # While launching frame i < frames_behind, frame i + 1 comes in.
        self.frames_behind = frames_behind

    def launch(self, items):
        frames = [frame for _, frame in items]
        self.events += [('launch', frame) for frame in frames]
        if isinstance(frames[-1], int) and frames[-1] < self.frames_behind:
            self.mailbox.put('camera', frames[-1] + 1)
        return frames

    def finish(self, frame):
        if frame == 'poison':
            raise KeyError('unexpected')
        self.events.append(('finish', frame))

    def error(self, error):
        self.events.append(('error', type(error).__name__))
        if isinstance(error, ZeroDivisionError):
            raise error

    def fatal(self, reason):
        self.events.append(('fatal', reason))

    def wait_for(self, event, timeout=5.0):
        deadline = time.monotonic() + timeout
        while event not in self.events and time.monotonic() < deadline:
            time.sleep(0.005)
        assert event in self.events


def started(overlap: bool, frames_behind: int = 0):
    mailbox = Mailbox()
    recorder = Recorder(mailbox, frames_behind)
    pipeline = Pipeline(mailbox, recorder.launch, recorder.finish, recorder.error,
                        recorder.fatal, overlap=overlap)
    pipeline.start()
    return mailbox, recorder, pipeline


@pytest.mark.parametrize('overlap', [False, True])
def test_an_idle_pipeline_finishes_each_frame_at_once(overlap):
    mailbox, recorder, pipeline = started(overlap)
    for frame in range(3):
        mailbox.put('camera', frame)
        recorder.wait_for(('finish', frame))
    pipeline.stop()
    assert recorder.events == [(step, frame) for frame in range(3)
                               for step in ('launch', 'finish')]


def test_with_overlap_a_waiting_frame_is_launched_before_the_last_is_finished():
    mailbox, recorder, pipeline = started(overlap=True, frames_behind=2)
    mailbox.put('camera', 0)
    recorder.wait_for(('finish', 2))
    pipeline.stop()
    assert recorder.events == [('launch', 0), ('launch', 1), ('finish', 0),
                               ('launch', 2), ('finish', 1), ('finish', 2)]


def test_without_overlap_each_frame_is_finished_before_the_next_is_launched():
    mailbox, recorder, pipeline = started(overlap=False, frames_behind=2)
    mailbox.put('camera', 0)
    recorder.wait_for(('finish', 2))
    pipeline.stop()
    assert recorder.events == [(step, frame) for frame in range(3)
                               for step in ('launch', 'finish')]


def test_stop_finishes_what_is_in_flight():
    mailbox, recorder, pipeline = started(overlap=True, frames_behind=10**9)
    mailbox.put('camera', 0)
    recorder.wait_for(('finish', 100))
    pipeline.stop()
    launched = [frame for step, frame in recorder.events if step == 'launch']
    finished = [frame for step, frame in recorder.events if step == 'finish']
    assert finished == launched


@pytest.mark.parametrize('overlap', [False, True])
def test_what_a_step_raises_is_reported_and_the_next_frame_is_served(overlap):
    mailbox, recorder, pipeline = started(overlap)
    mailbox.put('camera', 'poison')
    recorder.wait_for(('error', 'KeyError'))
    mailbox.put('camera', 1)
    recorder.wait_for(('finish', 1))
    pipeline.stop()
    assert not [event for event in recorder.events if event[0] == 'fatal']


def test_a_thread_that_ends_anyway_says_why():
    mailbox, recorder, pipeline = started(overlap=False)

    def broken_launch(items):
        raise ZeroDivisionError('the error handler gives up')
    pipeline._launch = broken_launch
    mailbox.put('camera', 0)
    recorder.wait_for(('fatal', 'processing thread stopped: ZeroDivisionError: the error '
                       'handler gives up'))
    pipeline.stop()
