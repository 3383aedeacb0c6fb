#!/usr/bin/python3
"""Broker-free tests of strawless_trainer: which filter settings it refuses and how it compares them, and what the
reading loop commits (when a batch counts as acknowledged, and what a rebalance commits), against a consumer whose
poll, commit and subscribe are answered by the test. PythonTrainerTest runs them; by hand, from the repository root:

    /usr/bin/python3 -m unittest discover -s ops/src/test/python

Debian's /usr/bin/python3, with python3-confluent-kafka and python3-avro (ops/bin/install-python-deps.sh).
"""

import contextlib
import io
import json
import logging
import os
import sys
import tempfile
import time
import unittest
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python"))

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition  # noqa: E402

import strawless_trainer  # noqa: E402  (found through the path above)
from strawless_trainer import (  # noqa: E402
    TrainerConsumer, batch_filter, consumer_config, parse_settings, training_batches)

TOPIC = "credit.batches"
FINGERPRINT = "grpo-verl-8e2578ac"


def batch(batch_id, estimator="grpo", fingerprint=FINGERPRINT):
    """A decoded batch with what batch_filter reads of it; no trajectories, so the policy bounds keep it whole."""
    return {"batch_id": batch_id, "estimator": estimator, "config_fingerprint": fingerprint, "trajectories": [],
            "min_policy_version": 1, "max_policy_version": 1}


class Message:
    """What training_batches reads of a confluent_kafka Message; its value is the decoded batch itself."""

    def __init__(self, offset, value, partition=0):
        self._offset, self._value, self._partition = offset, value, partition

    def topic(self):
        return TOPIC

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset

    def value(self):
        return self._value

    def error(self):
        return None


class Decoded:
    """A decoder for Message: the value is decoded already."""

    @staticmethod
    def decode(message):
        return message.value()


class NoBroker(Consumer):
    """A Consumer that asks no broker: poll hands out `messages` in order (then None), commit records the offsets it
    is asked to commit, (topic, partition) -> offset, or raises the next error of `refusals`, and subscribe keeps the
    rebalance callbacks it is given, for a test to call as librdkafka would. Used alone, it is a plain Consumer; under
    TrainerConsumer (ScriptedTrainerConsumer), it answers the calls TrainerConsumer passes on to Consumer."""

    def __init__(self, config=None):
        super().__init__({"group.id": "no-broker", "log_level": 0} if config is None else config)
        self.messages = []
        self.commits = []
        self.refusals = []
        self.rebalance_callbacks = None

    def poll(self, timeout=None):
        if self.messages:
            return self.messages.pop(0)
        time.sleep(min(timeout or 0, 0.01))
        return None

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
        consumer = kind()
        self.addCleanup(consumer.close)
        consumer.messages = [Message(offset, value) for offset, value in enumerate(values)]
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


class CommandLineTest(unittest.TestCase):
    """The command commits every batch as it reads it: what it would fail on afterwards (the file it writes, the
    schemas it decodes with) is refused before its consumer joins the group, else a rerun in the same group would not
    get those batches back. A client setting librdkafka refuses ends it in the documented JSON line, exit code 2."""

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
