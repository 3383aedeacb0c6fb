#!/usr/bin/python3
"""Broker-free tests of strawless_trainer: which filter and client settings it refuses and how it compares them, what
the reading loop commits (when a batch counts as acknowledged, what a rebalance commits, the position once it has read
everything), and what the command leaves in --advantages-out however it stops, against a consumer whose poll, commit,
position and subscribe are answered by the test. PythonTrainerTest runs them; by hand, from the repository root:

    /usr/bin/python3 -m unittest discover -s ops/src/test/python

Debian's /usr/bin/python3, with python3-confluent-kafka and python3-avro (ops/bin/install-python-deps.sh).
"""

import contextlib
import errno
import io
import json
import logging
import os
import signal
import sys
import tempfile
import time
import unittest
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python"))

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition  # noqa: E402

import strawless_trainer  # noqa: E402  (found through the path above)
from strawless_trainer import (  # noqa: E402
    AdvantagesFile, TrainerConsumer, UndecodableBatch, batch_filter, consumer_config, parse_settings,
    training_batches)

TOPIC = "credit.batches"
FINGERPRINT = "grpo-verl-8e2578ac"


def batch(batch_id, estimator="grpo", fingerprint=FINGERPRINT, trajectories=()):
    """A decoded batch with what batch_filter reads of it; by default no trajectories, so the policy bounds keep it
    whole."""
    return {"batch_id": batch_id, "estimator": estimator, "config_fingerprint": fingerprint,
            "trajectories": list(trajectories), "min_policy_version": 1, "max_policy_version": 1}


def trajectory(trajectory_id, advantage):
    """A decoded trajectory of one trainable step, with what strawless_trainer.trajectories reads of it."""
    return {"trajectory_id": trajectory_id, "task_id": "task", "group_id": "group", "scoring_unit": 0, "unit_size": 1,
            "steps": [{"step_index": 0, "advantage": advantage, "target_return": advantage, "trainable": True,
                       "token_ids": [7, 8], "payload_ref": None, "logprob": -0.5, "policy_version": 1,
                       "process_reward": None}],
            "weight": 1.0, "suspect": False, "outcome_timed_out": False, "verifiers_timed_out": False,
            "terminal": "TERMINATED"}


class Message:
    """What training_batches reads of a confluent_kafka Message; its value is the decoded batch itself (Decoded), and
    its error, if given, a KafkaError."""

    def __init__(self, offset, value, partition=0, error=None):
        self._offset, self._value, self._partition, self._error = offset, value, partition, error

    def topic(self):
        return TOPIC

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset

    def value(self):
        return self._value

    def error(self):
        return self._error


class CommitMarker:
    """The commit marker of a transaction: it takes an offset, and librdkafka hands it to no caller; a poll that goes
    over it moves the consumer's position past it."""

    def __init__(self, offset, partition=0):
        self.offset, self.partition = offset, partition


COMMIT_MARKER = object()  # among scripted's values: a CommitMarker at the next offset


def scripted(values):
    """What NoBroker polls for `values`: a message of each value, at offsets from 0 on partition 0 (a Message as it
    is); COMMIT_MARKER takes an offset for a commit marker, and a function is called with the consumer in poll, at no
    offset."""
    offsets = iter(range(len(values)))
    return [value if callable(value) or isinstance(value, Message) else CommitMarker(next(offsets))
            if value is COMMIT_MARKER else Message(next(offsets), value) for value in values]


class Decoded:
    """A decoder for Message: the value is decoded already; one that is not a dict is not a TrainingBatch."""

    @staticmethod
    def decode(message):
        if not isinstance(message.value(), dict):
            raise UndecodableBatch(message.topic(), message.partition(), message.offset(), "not a TrainingBatch")
        return message.value()


class NoBroker(Consumer):
    """A Consumer that asks no broker: poll goes through `messages` in order and hands out the first Message (then
    None), going over a CommitMarker as librdkafka does and calling a function with the consumer, as librdkafka calls
    rebalance callbacks in poll; position answers where poll left each partition. commit records the offsets it is
    asked to commit, (topic, partition) -> offset, or raises the next error of `refusals`, and subscribe keeps the
    rebalance callbacks it is given, for a test to call as librdkafka would. Used alone, it is a plain Consumer; under
    TrainerConsumer (ScriptedTrainerConsumer), it answers the calls TrainerConsumer passes on to Consumer."""

    def __init__(self, config=None):
        super().__init__({"group.id": "no-broker", "log_level": 0} if config is None else config)
        self.messages = []
        self.positions = {}  # (topic, partition) -> the offset after the last message or marker poll went over
        self.commits = []
        self.refusals = []
        self.rebalance_callbacks = None

    def poll(self, timeout=None):
        while self.messages:
            item = self.messages.pop(0)
            if callable(item):
                item(self)
            elif isinstance(item, CommitMarker):
                self.positions[(TOPIC, item.partition)] = item.offset + 1
            else:
                if item.error() is None:
                    self.positions[(item.topic(), item.partition())] = item.offset() + 1
                return item
        time.sleep(min(timeout or 0, 0.01))
        return None

    def position(self, partitions):
        return [TopicPartition(tp.topic, tp.partition, self.positions.get((tp.topic, tp.partition), -1001))
                for tp in partitions]

    def commit(self, message=None, offsets=None, asynchronous=True):
        assert not asynchronous, "training_batches commits synchronously"
        if self.refusals:
            raise KafkaException(KafkaError(self.refusals.pop(0)))
        self.commits.append({(tp.topic, tp.partition): tp.offset for tp in offsets})
        return [TopicPartition(tp.topic, tp.partition, tp.offset) for tp in offsets]

    def subscribe(self, topics, **callbacks):
        self.rebalance_callbacks = callbacks


class ScriptedTrainerConsumer(TrainerConsumer, NoBroker):
    """A TrainerConsumer over NoBroker: its own subscribe and acknowledgements, NoBroker's poll, commit and the
    Consumer.subscribe it calls."""


class ConsumerTestCase(unittest.TestCase):

    def consumer(self, kind, *values):
        """A `kind` consumer that polls `values` (see scripted)."""
        consumer = kind()
        self.addCleanup(consumer.close)
        consumer.messages = scripted(values)
        return consumer


class FilterSettingsTest(unittest.TestCase):
    """A batch the filters drop is committed past: a setting no batch of the job could match would make a trainer
    skip every batch in silence, so it is refused, or (a filter that matches none of the batches there are) said."""

    def test_an_empty_estimator_or_fingerprint_is_refused_naming_the_key(self):
        for key in ("trainer.estimator", "trainer.config-fingerprint"):
            with self.subTest(key=key), self.assertRaises(ValueError) as refused:
                batch_filter(parse_settings([f"{key}="]))
            self.assertTrue(str(refused.exception).startswith(f"-D {key}= is empty"), refused.exception)

    def test_a_fingerprint_not_of_the_jobs_shape_is_refused(self):
        for wrong in ("fp-a", "grpo-verl", "grpo-verl-8e2578a", "GRPO-VERL-8E2578AC", "grpo-verl-8e2578ac ",
                      "grpo-verl-8e2578ac\n", "grpo-verl-8e2578acff"):
            with self.subTest(fingerprint=wrong), self.assertRaises(ValueError) as refused:
                batch_filter(parse_settings([f"trainer.config-fingerprint={wrong}"]))
            self.assertTrue(str(refused.exception).startswith(
                f"-D trainer.config-fingerprint={wrong} is not a fingerprint the job writes"), refused.exception)
        for right in (FINGERPRINT, "dr_grpo-none-00000000", "reinforce_pp_baseline-openrlhf-0123abcd"):
            with self.subTest(fingerprint=right):
                select = batch_filter(parse_settings([f"trainer.config-fingerprint={right}"]))
                self.assertIsNotNone(select(batch("b", fingerprint=right)))

    def test_filters_that_no_batch_could_pass_are_refused(self):
        """A misspelt estimator, or a fingerprint of another estimator than the filter's, matches no batch."""
        for unknown in ("gpro", " grpo", "ppo"):
            with self.subTest(estimator=unknown), self.assertRaises(ValueError) as refused:
                batch_filter(parse_settings([f"trainer.estimator={unknown}"]))
            self.assertTrue(str(refused.exception).startswith(
                f"-D trainer.estimator={unknown} names no estimator of the job"), refused.exception)
        with self.assertRaises(ValueError) as crossed:
            batch_filter(parse_settings(["trainer.estimator=reinforce_pp",
                                         "trainer.config-fingerprint=reinforce_pp_baseline-openrlhf-6676a3b3"]))
        self.assertIn("is the fingerprint of another estimator than -D trainer.estimator=reinforce_pp",
                      str(crossed.exception))
        select = batch_filter(parse_settings(["trainer.estimator=GRPO", f"trainer.config-fingerprint={FINGERPRINT}"]))
        self.assertIsNotNone(select(batch("b", "grpo")))

    def test_the_estimator_is_compared_by_name_in_any_case_or_separator(self):
        """The job takes credit.estimator in any case and writes the name in lower case, words joined by '_'."""
        self.assertIsNotNone(batch_filter(parse_settings(["trainer.estimator=GRPO"]))(batch("b", "grpo")))
        self.assertIsNotNone(batch_filter(parse_settings(["trainer.estimator=dr-grpo"]))(batch("b", "dr_grpo")))
        self.assertIsNotNone(batch_filter(parse_settings(["trainer.estimator=Dr_GRPO"]))(batch("b", "dr_grpo")))
        with self.assertLogs("strawless_trainer", "WARNING"):
            self.assertIsNone(batch_filter(parse_settings(["trainer.estimator=dr-grpo"]))(batch("b", "grpo")))

    def test_a_dropped_configuration_is_warned_about_once_per_estimator_and_fingerprint(self):
        select = batch_filter(parse_settings(["trainer.estimator=grpo", f"trainer.config-fingerprint={FINGERPRINT}"]))
        with self.assertLogs("strawless_trainer", "WARNING") as logged:
            for dropped_or_not in (batch("gae-0", "gae", "gae-none-11111111"),
                                   batch("gae-1", "gae", "gae-none-11111111"),
                                   batch("wanted"),
                                   batch("other-config", fingerprint="grpo-verl-22222222"),
                                   batch("other-config-again", fingerprint="grpo-verl-22222222")):
                select(dropped_or_not)
        warnings = [record.getMessage() for record in logged.records]
        self.assertEqual(2, len(warnings), warnings)
        self.assertTrue(warnings[0].startswith(
            "dropping the batches of estimator gae with config_fingerprint gae-none-11111111 (the first: batch gae-0):"
            f" the filters want trainer.estimator=grpo, trainer.config-fingerprint={FINGERPRINT}."), warnings[0])
        self.assertTrue(warnings[1].startswith("dropping the batches of estimator grpo with config_fingerprint"
                                               " grpo-verl-22222222 (the first: batch other-config)"), warnings[1])

    def test_client_settings_the_reading_rules_make_are_refused_naming_the_key(self):
        """Refused as Java refuses them, not overridden in silence: a new group that asked for
        auto.offset.reset=latest would otherwise train on every older batch the topic keeps."""
        for key, value in (("auto.offset.reset", "latest"), ("enable.auto.commit", "true"),
                           ("isolation.level", "read_uncommitted"), ("group.id", "g"), ("bootstrap.servers", "h:1")):
            with self.subTest(key=key), self.assertRaises(ValueError) as refused:
                consumer_config(parse_settings([f"kafka.client.{key}={value}"]))
            self.assertTrue(str(refused.exception).startswith(f"-D kafka.client.{key}={value} is not allowed: "),
                            refused.exception)
        with self.assertRaises(ValueError) as refused:
            consumer_config(parse_settings(["kafka.client.auto.offset.reset=latest"]))
        self.assertIn("set trainer.min-policy-version", str(refused.exception), "what to do instead")

    def test_the_documented_settings_build_a_consumer_config_and_a_filter(self):
        """The module docstring's and the README's: parse_settings fills in every key the functions read."""
        settings = parse_settings(["kafka.bootstrap-servers=kafka:9092", "trainer.group-id=my-trainer",
                                   "trainer.estimator=grpo"])
        self.assertEqual("my-trainer", consumer_config(settings)["group.id"])
        self.assertEqual(TOPIC, settings["topics.batches"])
        self.assertIsNotNone(batch_filter(settings)(batch("b")))


class LoopExitTest(ConsumerTestCase):
    """A batch is acknowledged, so committed, when the loop body comes back for the next one: leaving the loop any
    other way leaves the batch it was on to a restarted trainer; max_batches and deadline commit the last one."""

    def test_break_commits_nothing_of_the_batch_it_was_on(self):
        consumer = self.consumer(NoBroker, batch("b0"), batch("b1"), batch("b2"))
        for got in training_batches(consumer, Decoded, batch_filter(parse_settings([]))):
            if got["batch_id"] == "b1":
                break
        self.assertEqual([{(TOPIC, 0): 1}], consumer.commits, "b0 only")

    def test_an_exception_in_the_loop_body_commits_nothing_of_the_batch_it_was_on(self):
        consumer = self.consumer(NoBroker, batch("b0"), batch("b1"), batch("b2"))
        with self.assertRaisesRegex(RuntimeError, "training step failed"):
            for got in training_batches(consumer, Decoded, batch_filter(parse_settings([]))):
                if got["batch_id"] == "b1":
                    raise RuntimeError("training step failed")
        self.assertEqual([{(TOPIC, 0): 1}], consumer.commits, "b0 only")

    def test_max_batches_commits_the_last_batch_and_reads_no_further(self):
        consumer = self.consumer(NoBroker, batch("b0"), batch("b1"), batch("b2"))
        got = [b["batch_id"] for b in training_batches(consumer, Decoded, batch_filter(parse_settings([])),
                                                       max_batches=2)]
        self.assertEqual(["b0", "b1"], got)
        self.assertEqual([{(TOPIC, 0): 1}, {(TOPIC, 0): 2}], consumer.commits)
        self.assertEqual(1, len(consumer.messages), "b2 is not read, so not committed past")

    def test_the_deadline_commits_the_last_batch(self):
        consumer = self.consumer(NoBroker, batch("b0"), batch("b1"))
        got = [b["batch_id"] for b in training_batches(consumer, Decoded, batch_filter(parse_settings([])),
                                                       deadline=time.monotonic() + 0.3)]
        self.assertEqual(["b0", "b1"], got)
        self.assertEqual({(TOPIC, 0): 2}, consumer.commits[-1])

    def test_a_batch_the_filter_drops_is_committed_as_it_passes(self):
        consumer = self.consumer(NoBroker, batch("other-0", "gae"), batch("wanted"), batch("other-1", "gae"))
        with self.assertLogs("strawless_trainer", "WARNING"):
            got = [b["batch_id"] for b in training_batches(
                consumer, Decoded, batch_filter(parse_settings(["trainer.estimator=grpo"])),
                deadline=time.monotonic() + 0.3)]
        self.assertEqual(["wanted"], got)
        self.assertEqual([{(TOPIC, 0): 1}, {(TOPIC, 0): 2}, {(TOPIC, 0): 3}], consumer.commits)


class CaughtUpTest(ConsumerTestCase):
    """A transaction's commit marker takes the offset after its batches. Once a TrainerConsumer has read everything,
    its group's offset is its position, past the last marker, as the Java client commits it: no lag is left."""

    @staticmethod
    def read_until_idle(consumer):
        return [b["batch_id"] for b in training_batches(consumer, Decoded, batch_filter(parse_settings([])),
                                                        deadline=time.monotonic() + 0.3)]

    def test_a_caught_up_trainer_commits_its_position_past_the_last_commit_marker_once(self):
        consumer = self.consumer(ScriptedTrainerConsumer, batch("b0"), COMMIT_MARKER, batch("b1"), COMMIT_MARKER)
        self.assertEqual(["b0", "b1"], self.read_until_idle(consumer))
        self.assertEqual([{(TOPIC, 0): 1}, {(TOPIC, 0): 3}, {(TOPIC, 0): 4}], consumer.commits,
                         "each batch as it is used, then once the position the idle polls found past the marker")

    def test_a_plain_consumer_commits_only_the_batches_it_used(self):
        consumer = self.consumer(NoBroker, batch("b0"), COMMIT_MARKER)
        self.assertEqual(["b0"], self.read_until_idle(consumer))
        self.assertEqual([{(TOPIC, 0): 1}], consumer.commits, "it cannot tell whether the partition is still its own")

    def test_a_partition_revoked_or_lost_is_not_committed_at_its_position(self):
        for callback in ("on_revoke", "on_lost"):
            with self.subTest(callback=callback):
                consumer = self.consumer(ScriptedTrainerConsumer, batch("b0"), COMMIT_MARKER,
                                         lambda c: c.rebalance_callbacks[callback](c, [TopicPartition(TOPIC, 0)]))
                consumer.subscribe([TOPIC])
                self.assertEqual(["b0"], self.read_until_idle(consumer))
                self.assertEqual([{(TOPIC, 0): 1}], consumer.commits, "another member may read it now")


class RebalanceTest(ConsumerTestCase):
    """A commit the group defers while it rebalances: a TrainerConsumer makes it when the partition is revoked, before
    another member reads it, and not at all when the partition was lost (another member may own it already)."""

    def read_one_batch_while_the_group_rebalances(self, kind, **callbacks):
        consumer = self.consumer(kind, batch("b0"))
        consumer.subscribe([TOPIC], **callbacks)
        consumer.refusals.append(KafkaError.REBALANCE_IN_PROGRESS)
        got = [b["batch_id"] for b in training_batches(consumer, Decoded, batch_filter(parse_settings([])),
                                                       max_batches=1)]
        self.assertEqual(["b0"], got)
        self.assertEqual([], consumer.commits, "the group refused the commit")
        return consumer

    def test_a_deferred_commit_is_made_when_the_partition_is_revoked_before_the_callers_on_revoke(self):
        commits_seen_by_callers_on_revoke = []
        consumer = self.read_one_batch_while_the_group_rebalances(
            ScriptedTrainerConsumer,
            on_revoke=lambda c, partitions: commits_seen_by_callers_on_revoke.append(list(c.commits)))
        consumer.rebalance_callbacks["on_revoke"](consumer, [TopicPartition(TOPIC, 0)])
        self.assertEqual([{(TOPIC, 0): 1}], consumer.commits)
        self.assertEqual([[{(TOPIC, 0): 1}]], commits_seen_by_callers_on_revoke)

    def test_a_lost_partition_commits_nothing(self):
        revoked_or_lost = []
        consumer = self.read_one_batch_while_the_group_rebalances(
            ScriptedTrainerConsumer, on_revoke=lambda c, partitions: revoked_or_lost.append(partitions))
        consumer.rebalance_callbacks["on_lost"](consumer, [TopicPartition(TOPIC, 0)])
        self.assertEqual(1, len(revoked_or_lost), "without on_lost, a lost partition goes to the caller's on_revoke")
        consumer.rebalance_callbacks["on_revoke"](consumer, [TopicPartition(TOPIC, 0)])
        consumer.acknowledgements.commit([(TOPIC, 0)])
        self.assertEqual([], consumer.commits, "forgotten when lost: nothing left to commit, then or later")

    def test_a_plain_consumer_gives_a_deferred_commit_up_with_a_warning(self):
        """A plain Consumer cannot tell when its partitions are revoked: keeping the commit could make it after
        another member read on."""
        with self.assertLogs("strawless_trainer", "WARNING") as logged:
            consumer = self.read_one_batch_while_the_group_rebalances(NoBroker)
        self.assertIn("could not be committed, so they will be delivered again", logged.output[0])
        self.assertFalse(hasattr(consumer, "acknowledgements"))


class AdvantagesFileTest(unittest.TestCase):

    def test_after_each_batch_the_file_is_a_whole_json_array(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "advantages.json")

            def written():
                with open(path, encoding="utf-8") as f:
                    return json.load(f)

            advantages = AdvantagesFile(path)
            try:
                self.assertEqual([], written())
                advantages.append([{"t": 0}, {"t": 1}])
                self.assertEqual([{"t": 0}, {"t": 1}], written())
                advantages.append([])
                advantages.append([{"t": 2}])
                self.assertEqual([{"t": 0}, {"t": 1}, {"t": 2}], written())
            finally:
                advantages.close()


class CommandLineTest(unittest.TestCase):
    """The command commits every batch as it reads it, after writing it to --advantages-out: however the run stops (an
    error, Ctrl-C, SIGTERM), every batch its group committed is in the file, and the summary says how it stopped. What
    it would fail on (the file it writes, the schemas it decodes with) is refused before its consumer joins the group.
    A client setting librdkafka refuses ends it in the documented JSON line, exit code 2."""

    USED = batch("b0", trajectories=[trajectory("t0", 0.5), trajectory("t1", -0.5)])

    def run_main(self, *args):
        """main's exit code and stderr, with the consumers it made (or tried to) in self.consumers."""
        self.consumers = []
        consumers = self.consumers

        class Counted(TrainerConsumer):
            def __init__(self, config):
                consumers.append(config)
                super().__init__(config)

        # main configures logging on the stderr it sees: leave the root logger as it was for the other tests.
        root = logging.getLogger()
        self.addCleanup(setattr, root, "handlers", list(root.handlers))
        stderr = io.StringIO()
        with mock.patch.object(strawless_trainer, "TrainerConsumer", Counted), contextlib.redirect_stderr(stderr):
            try:
                code = strawless_trainer.main(["-D", "kafka.bootstrap-servers=localhost:1", "--timeout", "1", *args])
            except SystemExit as e:  # parser.error
                code = e.code
        return code, stderr.getvalue()

    def run_main_reading(self, values, *args):
        """main over a consumer that polls `values` (see scripted), their values decoded already: its exit code, its
        summary (stdout), its stderr lines and the consumer."""
        made = []

        class Scripted(ScriptedTrainerConsumer):
            def __init__(self, config):
                super().__init__(config)
                self.messages = scripted(values)
                made.append(self)

        root = logging.getLogger()
        self.addCleanup(setattr, root, "handlers", list(root.handlers))
        stdout, stderr = io.StringIO(), io.StringIO()
        with mock.patch.object(strawless_trainer, "TrainerConsumer", Scripted), \
                mock.patch.object(strawless_trainer, "BatchDecoder", lambda schema, writers: Decoded), \
                contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = strawless_trainer.main(["-D", "kafka.client.log_level=0", "--timeout", "1", *args])
            except KeyboardInterrupt:
                self.fail("main let Ctrl-C through")
        return code, json.loads(stdout.getvalue()), stderr.getvalue().splitlines(), made[0]

    def assert_committed_and_written(self, consumer, path):
        """b0 (USED) committed and in the file."""
        self.assertEqual([{(TOPIC, 0): 1}], consumer.commits)
        with open(path, encoding="utf-8") as f:
            self.assertEqual([("b0", "t0", [0.5]), ("b0", "t1", [-0.5])],
                             [(t["batch_id"], t["trajectory_id"], t["advantages"]) for t in json.load(f)])

    def test_a_run_stopped_by_an_error_keeps_every_batch_it_committed_in_the_file_and_says_so(self):
        for stopper, error in (("not a batch", "undecodable"),
                               (Message(2, None, error=KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)), "kafka")):
            with self.subTest(error=error), tempfile.TemporaryDirectory() as directory:
                path = os.path.join(directory, "advantages.json")
                code, summary, stderr, consumer = self.run_main_reading([self.USED, COMMIT_MARKER, stopper],
                                                                        "--advantages-out", path)
                self.assertEqual(2, code, stderr)
                self.assertEqual(error, json.loads(stderr[-1])["error"], stderr)
                self.assertEqual(("error", 1, 2), (summary["stopped_by"], summary["batches"], summary["trajectories"]))
                self.assert_committed_and_written(consumer, path)

    def test_an_interrupted_run_keeps_every_batch_it_committed_in_the_file_and_says_so(self):
        def not_taken(signum, frame):
            raise AssertionError(f"main left {signal.Signals(signum).name} to its caller")

        for signum, handler, exit_code in ((signal.SIGINT, signal.default_int_handler, 130),
                                           (signal.SIGTERM, not_taken, 143)):
            self.addCleanup(signal.signal, signum, signal.signal(signum, handler))
            with self.subTest(signal=signum.name), tempfile.TemporaryDirectory() as directory:
                path = os.path.join(directory, "advantages.json")
                code, summary, stderr, consumer = self.run_main_reading(
                    [self.USED, COMMIT_MARKER, lambda c: os.kill(os.getpid(), signum)], "--advantages-out", path)
                self.assertEqual(exit_code, code, stderr)
                self.assertEqual(("interrupt", 1), (summary["stopped_by"], summary["batches"]))
                self.assert_committed_and_written(consumer, path)
                self.assertIs(handler, signal.getsignal(signum), "main leaves the handler as it was")

    def test_a_batch_that_could_not_be_written_to_the_file_is_not_committed(self):
        no_space = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        with tempfile.TemporaryDirectory() as directory, \
                mock.patch("os.fsync", side_effect=[None, None, no_space]):  # "[", b0, b1
            path = os.path.join(directory, "advantages.json")
            code, summary, stderr, consumer = self.run_main_reading(
                [self.USED, COMMIT_MARKER, batch("b1", trajectories=[trajectory("t2", 1.0)])], "--advantages-out", path)
        self.assertEqual(2, code, stderr)
        self.assertEqual({"error": "advantages-out", "reason": f"{path}: {os.strerror(errno.ENOSPC)}"},
                         json.loads(stderr[-1]))
        self.assertEqual(("error", 1), (summary["stopped_by"], summary["batches"]))
        self.assertEqual([{(TOPIC, 0): 1}], consumer.commits, "b1 is not committed")

    def test_a_write_that_fails_partway_leaves_the_committed_batches_as_a_whole_json_array(self):
        real = strawless_trainer.AdvantagesFile._write_all
        writes = []

        def half_then_no_space(advantages, data):
            writes.append(data)
            if len(writes) == 3:  # "[", b0, then b1: half of it reaches the disk
                advantages._file.write(data[:len(data) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real(advantages, data)

        with tempfile.TemporaryDirectory() as directory, \
                mock.patch.object(strawless_trainer.AdvantagesFile, "_write_all", half_then_no_space):
            path = os.path.join(directory, "advantages.json")
            code, summary, stderr, consumer = self.run_main_reading(
                [self.USED, COMMIT_MARKER, batch("b1", trajectories=[trajectory("t2", 1.0)])], "--advantages-out", path)
            with open(path, encoding="utf-8") as f:
                written = json.load(f)
        self.assertEqual(2, code, stderr)
        self.assertEqual("advantages-out", json.loads(stderr[-1])["error"])
        self.assertEqual(["t0", "t1"], [t["trajectory_id"] for t in written], "b0, committed; not half of b1")
        self.assertEqual([{(TOPIC, 0): 1}], consumer.commits, "b1 is not committed")

    def test_an_advantages_file_that_cannot_be_written_is_refused_before_a_consumer_is_made(self):
        with tempfile.TemporaryDirectory() as directory:
            unwritable = os.path.join(directory, "no-such-dir", "advantages.json")
            code, stderr = self.run_main("--advantages-out", unwritable)
            self.assertEqual(2, code, stderr)
            self.assertIn(f"--advantages-out {unwritable}: directory {os.path.dirname(unwritable)} does not exist",
                          stderr)
            code, stderr = self.run_main("--advantages-out", directory)
            self.assertEqual(2, code, stderr)
            self.assertIn(f"--advantages-out {directory}: it is a directory; name a file", stderr)
        self.assertEqual([], self.consumers, "no consumer, so nothing read and committed")

    def test_a_schemas_directory_without_the_schemas_is_refused_before_a_consumer_is_made(self):
        with tempfile.TemporaryDirectory() as empty:
            code, stderr = self.run_main("--schemas", empty)
        self.assertEqual(2, code, stderr)
        self.assertIn(f"--schemas {empty}: no SourceOffset.avsc, TerminalKind.avsc, TrainingBatch.avsc there", stderr)
        self.assertEqual([], self.consumers)

    def test_a_client_setting_librdkafka_refuses_is_one_json_line_and_exit_code_2(self):
        # The Java client's JAAS setting (README's Java example) and a misspelt key: librdkafka refuses both when
        # the consumer is made.
        for setting, refusal in (("kafka.client.sasl.jaas.config=x", "Java JAAS configuration is not supported"),
                                 ("kafka.client.sasl.usrname=x", 'No such configuration property: "sasl.usrname"')):
            with self.subTest(setting=setting):
                code, stderr = self.run_main("-D", setting)
                self.assertEqual(2, code, stderr)
                lines = stderr.splitlines()
                self.assertEqual(1, len(lines), stderr)
                error = json.loads(lines[0])
                self.assertEqual("kafka", error["error"], stderr)
                self.assertIn(refusal, error["reason"])
                self.assertIn("kafka.client.sasl.username", error["reason"], "the fix: librdkafka's key")
                self.assertEqual(1, len(self.consumers), "tried once, and refused")


if __name__ == "__main__":
    unittest.main()
