#!/usr/bin/python3
"""Read per-step credit from Strawless's batch topic, the way an RL trainer (e.g. PyTorch) would.

Adapt it: keep `training_batches` and `trajectories`, replace the summary in `main` with your training
step. Each trajectory comes with its steps as aligned sequences, numpy arrays where numeric (lists without
numpy): the i-th entry of t.advantages, t.trainable, t.token_ids, t.logprobs, ... is the same step's.

    from strawless_trainer import (BatchDecoder, TrainerConsumer, batch_filter, consumer_config,
                                   load_training_batch_schema, parse_settings, trajectories, training_batches)

    settings = parse_settings(["kafka.bootstrap-servers=kafka:9092", "trainer.group-id=my-trainer",
                               "trainer.estimator=grpo"])   # the -D key=value settings, over DEFAULTS
    consumer = TrainerConsumer(consumer_config(settings))   # read_committed, manual commits
    consumer.subscribe([settings["topics.batches"]])
    decoder = BatchDecoder(load_training_batch_schema())
    for batch in training_batches(consumer, decoder, batch_filter(settings)):
        for t in trajectories(batch):
            mask = torch.from_numpy(t.trainable)
            if not mask.any():
                continue  # no step the policy produced (tool output only): the mean would be NaN
            advantages = torch.from_numpy(t.advantages)[mask]
            logprobs = policy_logprobs(t.token_ids)[mask]   # your policy's log-probability of each step's tokens
            loss = -(advantages * logprobs).mean() * t.weight   # your policy-gradient step (t.logprobs: the
                                                                # behaviour policy's, for an importance ratio)
        # leaving the loop body normally acknowledges the batch: its offset is committed; a break or
        # return out of the batch loop does not (pass max_batches= or deadline= to stop after a batch)

A trajectory's `weight` is 0 when the job flagged it as a likely reward hack (`suspect`): it stays in the
batch, credit and all, so that it can be inspected, but must not move the policy.

Reading rules, the same as the Java client (io.strawless.connectors.trainer.BatchSubscriber):
- isolation.level=read_committed: the job writes batches in Kafka transactions; an aborted attempt's
  batches are never seen.
- Offsets are committed only after a batch was used (see `training_batches`), so a trainer that crashes
  mid-batch gets that batch again. When a poll finds nothing new, a TrainerConsumer commits its position, past
  the transactions' commit markers, so a group that has read everything shows no lag.
- One batch at a time: each poll returns one batch, and the next poll comes after the training step on it.
  Kafka (librdkafka) drops a member that does not poll again within max.poll.interval.ms (300000 ms, 5 min,
  by default): a training step must fit in it, or raise it with -D kafka.client.max.poll.interval.ms=<ms>.
  A trainer that was dropped cannot commit the batch it was training on: it says so on stderr (naming
  max.poll.interval.ms), rejoins the group, and that batch is delivered again, to it or to another
  member (at least once). It does not stop. (session.timeout.ms does not bound a step: librdkafka
  sends heartbeats from its own thread.)
- Rebalances (a trainer joins or leaves the group): each batch is committed before the next poll, so before
  a rebalance can move its partition. A commit the group deferred while it rebalanced is made by a
  TrainerConsumer when the partition is revoked (on_revoke), before another member reads it; nothing is
  committed for a partition revoked or lost (the member was dropped: another may own it already).
- A consumer error that librdkafka rides out by itself (a broker going away, a leader moving, the end of a
  partition, a poll interval exceeded) is one line on stderr and reading goes on. One that retrying cannot
  mend (the topic does not exist, the topic or group is not authorized, a corrupt record) stops the reader
  with a KafkaException.
- Values are Avro single-object encoded: C3 01, the 8-byte little-endian CRC-64-AVRO fingerprint of the
  writer schema, the Avro binary body. The writer may be any TrainingBatch schema a release wrote
  (schemas/src/main/resources/schema-history); it is resolved to today's. A value that is not a TrainingBatch
  stops the reader with its topic/partition/offset (UndecodableBatch); nothing is skipped silently.

Settings use the keys of the Java options, as -D key=value (kafka.bootstrap-servers, topics.batches,
trainer.group-id, trainer.estimator, trainer.config-fingerprint, trainer.min-policy-version,
trainer.max-policy-version, kafka.client.<any librdkafka property> for security settings); parse_settings
turns them into the dict the functions above take, every key set (DEFAULTS where not given). The policy-version
bounds remove whole scoring units from a batch rather than drop it (batch_filter). A dropped batch is committed
past, so batch_filter refuses a filter no batch of the job could pass (an empty value, a fingerprint not of the
job's shape, crossed bounds), compares the estimator by name in any case, '-' or '_' alike (GRPO, dr-grpo), and
warns once for each estimator and fingerprint a batch it drops carries.

Only Debian's packages for /usr/bin/python3: python3-confluent-kafka, python3-avro, python3-numpy
(optional). ops/bin/install-python-deps.sh installs them.
"""

import argparse
import dataclasses
import io
import json
import logging
import math
import os
import re
import signal
import sys
import time

import avro.io
import avro.name
import avro.schema
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

try:
    import numpy
except ImportError:  # the example still works, with lists
    numpy = None

# The Java options' keys and defaults (KafkaOptions, TrainerOptions).
DEFAULTS = {
    "kafka.bootstrap-servers": "localhost:9092",
    "kafka.group-id": "strawless",  # the job's group: only to refuse it as the trainer's
    "topics.batches": "credit.batches",
    "trainer.group-id": "strawless-trainer",
    "trainer.estimator": None,
    "trainer.config-fingerprint": None,
    "trainer.min-policy-version": None,
    "trainer.max-policy-version": None,
}
CLIENT_PREFIX = "kafka.client."
# Set by a dedicated key or by the reading rules above, each with what to do instead: refused through the passthrough
# rather than silently overridden, as in Java (KafkaOptions, BatchSubscriber).
CONTROLLED_CLIENT_KEYS = {
    "bootstrap.servers": "set kafka.bootstrap-servers",
    "group.id": "set trainer.group-id",
    "isolation.level": "a trainer reads committed batches only (read_committed)",
    "enable.auto.commit": "the trainer commits only the batches it used",
    "auto.offset.reset": "a new trainer group starts at the earliest batch the topic keeps; to leave out the batches"
                         " of older policies, set trainer.min-policy-version",
}

DEFAULT_SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas", "src", "main", "avro")
# TrainingBatch.avsc refers to OffsetRange and TerminalKind by name; named types must be parsed before they are used.
SCHEMA_FILES = ("SourceOffset.avsc", "TerminalKind.avsc", "TrainingBatch.avsc")
# Every TrainingBatch schema a Strawless release wrote, v1.avsc, v2.avsc, ... (each one self-contained).
DEFAULT_HISTORY_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas", "src", "main",
                                   "resources", "schema-history", "TrainingBatch")

# The shape of the config_fingerprint the job writes (CreditConfig#fingerprint), e.g. dr_grpo-verl-8e2578ac: the
# estimator's name, the preset's, and the first 4 bytes of a SHA-256 in hex. The Java client checks the same.
FINGERPRINT = re.compile(r"[a-z][a-z0-9_]*-[a-z][a-z0-9-]*-[0-9a-f]{8}")

# The names the job writes in a batch's estimator (the pipeline's Estimator; PythonTrainerTest keeps them equal).
ESTIMATORS = ("outcome", "grpo", "dr_grpo", "rloo", "gae", "reinforce_pp", "reinforce_pp_baseline", "process", "gigpo")

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
HEADER_LENGTH = 10


# --- decoding -------------------------------------------------------------------------------------------

def load_training_batch_schema(schema_dir=DEFAULT_SCHEMA_DIR):
    """The TrainingBatch schema, with the named types it refers to resolved."""
    names = avro.name.Names()
    schema = None
    for file_name in SCHEMA_FILES:
        with open(os.path.join(schema_dir, file_name), encoding="utf-8") as f:
            schema = avro.schema.make_avsc_object(json.load(f), names)
    return schema


def load_writer_schemas(history_dir=DEFAULT_HISTORY_DIR):
    """Every TrainingBatch schema a Strawless release wrote, oldest first: batches written before an upgrade
    stay on the topic for its retention, and name their writer schema by fingerprint."""
    schemas = []
    version = 1
    while os.path.exists(path := os.path.join(history_dir, f"v{version}.avsc")):
        with open(path, encoding="utf-8") as f:
            schemas.append(avro.schema.parse(f.read()))
        version += 1
    return schemas


def parsing_fingerprint(schema):
    """CRC-64-AVRO of the schema's Parsing Canonical Form: the 8 bytes a single-object header carries."""
    canonical = json.dumps(_primitives_as_names(json.loads(schema.canonical_form)), separators=(",", ":"))
    fingerprint = _CRC64_EMPTY
    for byte in canonical.encode("utf-8"):
        fingerprint = (fingerprint >> 8) ^ _CRC64_TABLE[(fingerprint ^ byte) & 0xFF]
    return fingerprint.to_bytes(8, "little")


def _primitives_as_names(node):
    # python3-avro 1.11 leaves a logical type's primitive as {"type": "long"} in the canonical form; the
    # specification (and Java, which wrote the fingerprint) reduce it to "long".
    if isinstance(node, dict):
        if list(node) == ["type"] and isinstance(node["type"], str):
            return node["type"]
        return {key: _primitives_as_names(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_primitives_as_names(item) for item in node]
    return node


_CRC64_EMPTY = 0xC15D213AA4D7A795


def _crc64_table():
    table = []
    for i in range(256):
        fingerprint = i
        for _ in range(8):
            fingerprint = (fingerprint >> 1) ^ (_CRC64_EMPTY & -(fingerprint & 1))
        table.append(fingerprint)
    return table


_CRC64_TABLE = _crc64_table()


class UndecodableBatch(Exception):
    """A value on the batch topic that is not a TrainingBatch this reader knows; names where it is."""

    def __init__(self, topic, partition, offset, reason):
        super().__init__(f"{topic}-{partition}@{offset}: {reason}")
        self.topic, self.partition, self.offset, self.reason = topic, partition, offset, reason


class BatchDecoder:
    """Decodes single-object encoded TrainingBatch values into dicts (field names as in the .avsc)."""

    def __init__(self, schema, writers=None):
        """`schema` is the reader's; `writers` the schemas values may have been written with (by default every
        version a release wrote, load_writer_schemas), each resolved to `schema` as Avro's rules say."""
        writers = load_writer_schemas() if writers is None else writers
        self._readers = {parsing_fingerprint(writer): avro.io.DatumReader(writer, schema)
                         for writer in [*writers, schema]}

    def decode(self, message):
        value = message.value()

        def undecodable(reason):
            return UndecodableBatch(message.topic(), message.partition(), message.offset(), reason)

        if value is None:
            raise undecodable("no value (null or tombstone)")
        if len(value) < HEADER_LENGTH or value[:2] != SINGLE_OBJECT_MAGIC:
            raise undecodable(f"not Avro single-object encoded ({len(value)} bytes starting {value[:2].hex()})")
        reader = self._readers.get(value[2:HEADER_LENGTH])
        if reader is None:
            raise undecodable(f"writer schema fingerprint {value[2:HEADER_LENGTH].hex()} is none of the"
                              f" {len(self._readers)} TrainingBatch schemas this reader knows; a newer schema needs"
                              f" a newer reader")
        body = io.BytesIO(value[HEADER_LENGTH:])
        try:
            batch = reader.read(avro.io.BinaryDecoder(body))
        except Exception as e:  # the Avro library raises many kinds on a corrupt body
            raise undecodable(f"corrupt TrainingBatch body: {e!r}") from e
        if body.tell() != len(value) - HEADER_LENGTH:
            raise undecodable(f"{len(value) - HEADER_LENGTH - body.tell()} bytes left over after the TrainingBatch")
        return batch


# --- reading --------------------------------------------------------------------------------------------

def consumer_config(settings):
    """librdkafka settings for a trainer: committed transactions only, commits by the reader only."""
    config = {key[len(CLIENT_PREFIX):]: value for key, value in settings.items() if key.startswith(CLIENT_PREFIX)}
    refused = sorted(CONTROLLED_CLIENT_KEYS.keys() & config.keys())
    if refused:
        raise ValueError("; ".join(f"-D {CLIENT_PREFIX}{key}={config[key]} is not allowed: "
                                   f"{CONTROLLED_CLIENT_KEYS[key]}" for key in refused))
    if settings["trainer.group-id"] == settings["kafka.group-id"]:
        raise ValueError(f"-D trainer.group-id={settings['trainer.group-id']} is the job's own group (kafka.group-id):"
                         " a trainer joining it would make the broker refuse the job's offset commits; choose another")
    config.update({
        "bootstrap.servers": settings["kafka.bootstrap-servers"],
        "group.id": settings["trainer.group-id"],
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    return config


def batch_filter(settings):
    """The trainer.* filters as a function of a decoded batch: the batch as the trainer wants it, or None when it
    wants none of it; unset keys accept anything.

    trainer.estimator and trainer.config-fingerprint take or drop a batch whole. The policy-version bounds remove
    whole scoring units from it, as the Java client does: a batch mixes the groups of many tasks, so one trajectory
    of an older policy must not cost the others beside it their training, and a unit's credit is relative to all
    of its members, so none is delivered without the others. What is left is returned as a new dict, its
    min/max_policy_version those of its steps; a batch left empty is None.

    A batch it drops is committed past: a filter that matches none of the job's batches would skip them all. So a
    value no batch could match raises ValueError (an empty one, an estimator the job does not have, a fingerprint not
    of the job's shape or of another estimator than the estimator filter's, crossed bounds), the estimator is compared by name (estimator_name: GRPO and dr-grpo are the job's grpo and dr_grpo),
    and the first batch dropped for each estimator and fingerprint it carries is logged as a warning naming them
    and the filter (logger "strawless_trainer")."""
    given = _non_empty(settings, "trainer.estimator", "estimator")
    estimator = None if given is None else estimator_name(given)
    if estimator is not None and estimator not in ESTIMATORS:
        raise ValueError(f"-D trainer.estimator={given} names no estimator of the job, so no batch could pass: use one"
                         f" of {', '.join(ESTIMATORS)}")
    fingerprint = _non_empty(settings, "trainer.config-fingerprint", "configuration")
    if fingerprint is not None and not FINGERPRINT.fullmatch(fingerprint):
        raise ValueError(f"-D trainer.config-fingerprint={fingerprint} is not a fingerprint the job writes"
                         " (<estimator>-<preset>-<8 hex digits>, e.g. grpo-verl-8e2578ac), so no batch could pass:"
                         " copy a batch's config_fingerprint or what 'strawless fingerprint -D key=value ...' prints"
                         " for the job's settings")
    if estimator is not None and fingerprint is not None and not fingerprint.startswith(estimator + "-"):
        # The fingerprint begins with the estimator's name: a batch cannot match both.
        raise ValueError(f"-D trainer.config-fingerprint={fingerprint} is the fingerprint of another estimator than"
                         f" -D trainer.estimator={estimator}, so no batch could pass: set one of them, or both of the"
                         " same estimator")
    min_version = _optional_int(settings, "trainer.min-policy-version")
    max_version = _optional_int(settings, "trainer.max-policy-version")
    if min_version is not None and max_version is not None and min_version > max_version:
        # Every unit would fall outside, and every batch be committed past unread.
        raise ValueError(f"-D trainer.min-policy-version={min_version} is above -D trainer.max-policy-version="
                         f"{max_version}: no batch could pass; swap or widen them")

    def within_bounds(trajectory):
        return all((min_version is None or step["policy_version"] >= min_version)
                   and (max_version is None or step["policy_version"] <= max_version) for step in trajectory["steps"])

    wanted = ", ".join(f"{key}={value}" for key, value in (("trainer.estimator", estimator),
                                                          ("trainer.config-fingerprint", fingerprint))
                       if value is not None)
    dropped = set()  # the (estimator, config_fingerprint) pairs of the batches dropped so far: each is warned once

    def select(batch):
        if ((estimator is not None and batch["estimator"] != estimator)
                or (fingerprint is not None and batch["config_fingerprint"] != fingerprint)):
            carried = (batch["estimator"], batch["config_fingerprint"])
            if carried not in dropped:
                dropped.add(carried)
                LOG.warning("dropping the batches of estimator %s with config_fingerprint %s (the first: batch %s):"
                            " the filters want %s. Said once per estimator and fingerprint; a trainer that gets no"
                            " batch at all has filters that match none of the job's (compare its credit.estimator,"
                            " and what 'strawless fingerprint' prints for its settings)", *carried, batch["batch_id"],
                            wanted)
            return None
        units = [_unit_of(t, i) for i, t in enumerate(batch["trajectories"])]
        outside = {unit for unit, t in zip(units, batch["trajectories"]) if not within_bounds(t)}
        if not outside:
            return batch
        kept = [t for unit, t in zip(units, batch["trajectories"]) if unit not in outside]
        if not kept:
            return None
        versions = [step["policy_version"] for t in kept for step in t["steps"]]
        return {**batch, "trajectories": kept,
                "min_policy_version": min(versions, default=batch["min_policy_version"]),
                "max_policy_version": max(versions, default=batch["max_policy_version"])}

    return select


def estimator_name(name):
    """An estimator as the job names it in a batch: in lower case, words joined by '_' (dr_grpo). The job's own
    setting takes any case (credit.estimator=DR_GRPO), and its other enum settings join words by '-'."""
    return name.lower().replace("-", "_")


def _non_empty(settings, key, any_what):
    value = settings[key]
    if value is not None and not value.strip():
        raise ValueError(f"-D {key}= is empty, which no batch matches: set it, or leave it out to take any {any_what}")
    return value


def _unit_of(trajectory, index):
    """The scoring unit of the `index`-th trajectory of its batch. A batch written before scoring_unit existed names
    only its group_id, which may join units scored apart: dropping them together still delivers no unit in part.
    A trajectory with neither is a unit of its own."""
    if trajectory["scoring_unit"] is not None:
        return "unit", trajectory["scoring_unit"]
    if trajectory["group_id"] is not None:
        return "group", trajectory["group_id"]
    return "trajectory", index


def _optional_int(settings, key):
    value = settings[key]
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"-D {key}={value}: not a whole number") from None


def training_batches(consumer, decoder, select, max_batches=None, deadline=None):
    """Yields the decoded batches as `select` (batch_filter) returns them, in offset order per partition;
    those it returns None for are skipped.

    A batch is acknowledged when the caller asks for the next one (its loop body finished): only then is
    its offset committed. If the loop body raises, or leaves the loop (break, return), nothing more is
    committed and a restarted trainer gets that batch again: stop with `max_batches` or `deadline`. Batches
    the filter drops are committed as they pass. Stops after `max_batches` batches (the last one committed)
    or at `deadline` (time.monotonic()); runs forever without both. A poll that finds nothing new commits the
    consumer's position on each partition it read from, past the commit markers of the transactions read, so a
    group that has read everything shows no lag (a TrainerConsumer only; see Acknowledgements.caught_up).

    `consumer` is best a TrainerConsumer (a plain Consumer works too). A commit the group refuses because
    this trainer is no longer its member (a training step outlasted max.poll.interval.ms) is a warning, not
    an error: the batch is delivered again (at least once). One refused while the group rebalances or its
    coordinator is away: a TrainerConsumer keeps it, to commit with the next batch or when a rebalance
    revokes the partition; a plain Consumer, which cannot tell when partitions are revoked, gives it up
    (a warning; the batch is delivered again). Consumer errors librdkafka recovers from are logged (one line
    each, logger "strawless_trainer"); the others raise KafkaException (see FATAL_CONSUMER_ERRORS).
    """
    acknowledgements = getattr(consumer, "acknowledgements", None)
    if not isinstance(acknowledgements, Acknowledgements):
        acknowledgements = Acknowledgements(consumer, revocations_known=False)
    delivered = 0
    while max_batches is None or delivered < max_batches:
        if deadline is not None and time.monotonic() >= deadline:
            return
        message = consumer.poll(timeout=0.5)
        if message is None:
            # The caller came back for more, so every batch this loop delivered was used, and none is in hand.
            acknowledgements.caught_up()
            continue
        if message.error():
            _consumer_error(message.error())
            continue
        selected = select(decoder.decode(message))
        if selected is not None:
            delivered += 1
            yield selected
        # Reached only when the caller came back for more: the batch was used (or filtered out).
        acknowledgements.acknowledge(message)


def _codes(*names):
    # Names librdkafka knows (all of these since 1.x); one an older library lacks is left out.
    return frozenset(getattr(KafkaError, name) for name in names if hasattr(KafkaError, name))


# Consumer errors retrying cannot mend: training_batches raises them. (python3-confluent-kafka 1.7 builds the
# KafkaError of a message poll() returns without its retriable/fatal flags, so they cannot tell.) Any other
# error poll() returns is logged and reading goes on: librdkafka retries by itself.
FATAL_CONSUMER_ERRORS = _codes(
    "_FATAL",
    # The subscribed topic does not exist (or is not a valid name), or this client may not read it.
    "UNKNOWN_TOPIC_OR_PART", "_UNKNOWN_TOPIC", "_UNKNOWN_PARTITION", "TOPIC_EXCEPTION",
    "TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED",
    "_AUTHENTICATION", "SASL_AUTHENTICATION_FAILED",
    # The group refuses this member as configured.
    "INVALID_GROUP_ID", "INVALID_SESSION_TIMEOUT", "INCONSISTENT_GROUP_PROTOCOL", "GROUP_MAX_SIZE_REACHED",
    "FENCED_INSTANCE_ID", "UNSUPPORTED_VERSION", "_UNSUPPORTED_FEATURE", "_INVALID_ARG",
    # Records that cannot be read: nothing is skipped silently.
    "_BAD_MSG", "MSG_SIZE_TOO_LARGE", "_AUTO_OFFSET_RESET",
)
# A commit refused because this member left the group or the group went on without it: its partitions are
# (or will be) another member's, which gets the batches not committed. librdkafka answers _STATE ("Erroneous
# state") to a commit made while it is out of the group, e.g. right after max.poll.interval.ms ran out.
_GROUP_WENT_ON = _codes("UNKNOWN_MEMBER_ID", "ILLEGAL_GENERATION", "_ASSIGNMENT_LOST", "_STATE")
# A commit that may succeed later as it is: the group is rebalancing, or its coordinator is away.
_COMMIT_LATER = _codes("REBALANCE_IN_PROGRESS", "_WAIT_COORD", "COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR",
                       "COORDINATOR_LOAD_IN_PROGRESS", "_TIMED_OUT", "REQUEST_TIMED_OUT", "_TRANSPORT",
                       "_ALL_BROKERS_DOWN")

LOG = logging.getLogger("strawless_trainer")


def _consumer_error(error):
    if error.fatal() or error.code() in FATAL_CONSUMER_ERRORS:
        raise KafkaException(error)
    if error.code() == KafkaError._MAX_POLL_EXCEEDED:
        LOG.warning("%s: a training step took longer than max.poll.interval.ms, so this trainer left its group;"
                    " it rejoins now, and what it did not commit is delivered again, to it or another member"
                    " (raise -D %smax.poll.interval.ms to give a step more time)", error.str(), CLIENT_PREFIX)
    elif error.code() == KafkaError._PARTITION_EOF:
        LOG.info("%s", error.str())
    else:
        LOG.warning("consumer error, librdkafka retries: %s: %s", error.name(), error.str())


class Acknowledgements:
    """Per partition, the offset up to which batches were used but not committed yet, and their commits."""

    def __init__(self, consumer, revocations_known):
        self._consumer = consumer
        # Whether this member is told when a partition is revoked or lost (a TrainerConsumer). Only then is a commit
        # that may succeed later kept for the next one, and a position committed while no batch is in hand.
        self._revocations_known = revocations_known
        self._uncommitted = {}  # (topic, partition) -> the offset to commit: the next one to read
        # (topic, partition) -> the offset this member last committed, for each partition it read from and still owns
        self._committed = {}

    def acknowledge(self, message):
        """The batch `message` is used: commits it, with any earlier batch whose commit was deferred."""
        # Its offset + 1 is the consumer's position here: librdkafka moves the position past the commit marker
        # behind it only when a poll goes over the marker (caught_up commits that).
        self._uncommitted[(message.topic(), message.partition())] = message.offset() + 1
        self.commit(list(self._uncommitted))

    def caught_up(self):
        """A poll found nothing new and no batch is in hand: commits the consumer's position on each partition read
        from, where it is past what was committed, as the Java client does. A transaction's commit marker takes the
        offset after its last batch, so the used batches' offset + 1 alone would leave a group that has read
        everything one marker behind (a lag of 1 per partition). Only when revocations are known: a plain Consumer
        cannot tell whether a partition it read from is still its own, and a commit for one another member reads
        now could set that member's progress back."""
        read = self._committed.keys() | self._uncommitted.keys()
        if not self._revocations_known or not read:
            return
        moved = []
        for position in self._consumer.position([TopicPartition(topic, partition) for topic, partition in read]):
            key = (position.topic, position.partition)
            if position.error is None and position.offset > self._uncommitted.get(key, self._committed.get(key, -1)):
                self._uncommitted[key] = position.offset
                moved.append(key)
        self.commit(moved)

    def commit(self, partitions, handing_over=False):
        """Commits what was used of `partitions` ((topic, partition) pairs). A commit the group refuses for
        good (or, `handing_over` the partitions, for any reason) is a warning: those batches are delivered
        again. One that may succeed later is kept for the next commit if revocations are known. Any other
        failure raises KafkaException."""
        offsets = {key: self._uncommitted[key] for key in partitions if key in self._uncommitted}
        if not offsets:
            return
        try:
            results = self._consumer.commit(
                offsets=[TopicPartition(topic, partition, offset) for (topic, partition), offset in offsets.items()],
                asynchronous=False)
            failed = {(r.topic, r.partition): r.error for r in results or () if r.error is not None}
        except KafkaException as e:
            error = e.args[0] if e.args and isinstance(e.args[0], KafkaError) else KafkaError(KafkaError._FAIL, str(e))
            failed = {key: error for key in offsets}
        for key, offset in offsets.items():
            error = failed.get(key)
            if error is None or error.code() == KafkaError._NO_OFFSET:
                self._committed[key] = offset
                if self._uncommitted.get(key) == offset:
                    del self._uncommitted[key]
                continue
            went_on = error.code() in _GROUP_WENT_ON
            if error.code() in _COMMIT_LATER and self._revocations_known and not handing_over:
                LOG.info("%s-%d: commit up to offset %d deferred to the next commit or to the rebalance: %s",
                         key[0], key[1], offset, error.str())
            elif went_on or error.code() in _COMMIT_LATER or handing_over:
                self._uncommitted.pop(key, None)
                if went_on:  # its partitions are (or will be) another member's: no position of it is committed
                    self._committed.pop(key, None)
                LOG.warning("%s-%d: batches used up to offset %d could not be committed, so they will be delivered"
                            " again: %s%s", key[0], key[1], offset, error.str(),
                            "; this trainer is no longer a member of its group: a training step took longer than"
                            f" max.poll.interval.ms (raise -D {CLIENT_PREFIX}max.poll.interval.ms)" if went_on else "")
            else:
                raise KafkaException(error)

    def revoked(self, partitions):
        """A rebalance hands `partitions` to the group: commit what was used of them, then forget them."""
        try:
            # Raising here would surface from poll() or close() in the middle of the rebalance; a commit
            # that fails now only means those batches are delivered again.
            self.commit([(p.topic, p.partition) for p in partitions], handing_over=True)
        finally:
            self.lost(partitions)

    def lost(self, partitions):
        """This member lost `partitions` (it was dropped from the group): another member may own them
        already, and a commit now could overwrite its progress. Forget them."""
        for p in partitions:
            self._uncommitted.pop((p.topic, p.partition), None)
            self._committed.pop((p.topic, p.partition), None)


class TrainerConsumer(Consumer):
    """A confluent_kafka Consumer that knows when a rebalance takes partitions from it (training_batches
    commits through its `acknowledgements`): what was used of a revoked partition is committed before
    another member reads it, and nothing is committed for a partition it lost. A commit deferred because the
    group was rebalancing is kept until then. Callbacks given to `subscribe` are called after its own."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.acknowledgements = Acknowledgements(self, revocations_known=True)

    def subscribe(self, topics, on_assign=None, on_revoke=None, on_lost=None):
        def revoked(consumer, partitions):
            self.acknowledgements.revoked(partitions)
            if on_revoke is not None:
                on_revoke(consumer, partitions)

        def lost(consumer, partitions):
            self.acknowledgements.lost(partitions)
            # As a Consumer does: without on_lost, lost partitions go to on_revoke.
            if on_lost is not None or on_revoke is not None:
                (on_lost or on_revoke)(consumer, partitions)

        callbacks = {"on_revoke": revoked, "on_lost": lost}
        if on_assign is not None:
            callbacks["on_assign"] = on_assign
        super().subscribe(topics, **callbacks)


@dataclasses.dataclass(frozen=True)
class TrajectoryCredit:
    """One scored trajectory, ready for a loss. The per-step sequences are aligned, one entry a step, in step order."""
    batch_id: str
    trajectory_id: str
    task_id: str
    group_id: object  # str or None: the agent's; two scoring units may share one, so group by scoring_unit
    scoring_unit: object  # int: the trajectories scored as one group share it (unique in the batch); None before v4
    unit_size: object  # int: how many trajectories its credit was computed with (1: alone); None before v4
    step_indices: object  # int64 array: each step's step_index
    advantages: object  # float64 array: the credit each step's log-probability is multiplied by
    target_returns: object  # float64 array: what the value head regresses to
    trainable: object  # bool array: False for tool/observation steps (their advantage is 0); mask them
    token_ids: list  # per step, an int64 array of its token ids, or None (a step without, or sent by payload_ref)
    payload_refs: list  # per step, where its payload is stored (str), or None
    logprobs: object  # float64 array: the behaviour policy's log-probability of each step, NaN where it has none
    policy_versions: object  # int64 array
    process_rewards: object  # float64 array: the process reward from verifier signals that went into each step's
    # advantage (process estimator; see process_reward in TrainingBatch.avsc), NaN where there is none: another
    # estimator, a step no verdict judged or not trainable, a batch written before v5
    weight: float  # multiply the trajectory's loss by it: 1, or 0 for a suspect
    suspect: bool  # quarantined as a likely reward hack (job.suspect-policy=FLAG); its weight is 0
    outcome_timed_out: bool  # scored on verifier signals alone: outcome_reward and success mean nothing
    verifiers_timed_out: bool  # scored without all of job.required-verifiers' verdicts (job.verifier-timeout)
    terminal: object  # how it ended: "TERMINATED", "TRUNCATED" (cut off by a limit: mask it, DAPO-style) or
    # "NONE" (no end marked); None before v4


def trajectories(batch):
    """The batch's trajectories with their per-step credit as arrays (numpy when available)."""
    for trajectory in batch["trajectories"]:
        steps = trajectory["steps"]
        yield TrajectoryCredit(
            batch_id=batch["batch_id"],
            trajectory_id=trajectory["trajectory_id"],
            task_id=trajectory["task_id"],
            group_id=trajectory["group_id"],
            scoring_unit=trajectory["scoring_unit"],
            unit_size=trajectory["unit_size"],
            step_indices=_array([s["step_index"] for s in steps], "int64"),
            advantages=_array([s["advantage"] for s in steps], "float64"),
            target_returns=_array([s["target_return"] for s in steps], "float64"),
            trainable=_array([s["trainable"] for s in steps], "bool"),
            token_ids=[None if s["token_ids"] is None else _array(s["token_ids"], "int64") for s in steps],
            payload_refs=[s["payload_ref"] for s in steps],
            logprobs=_array([math.nan if s["logprob"] is None else s["logprob"] for s in steps], "float64"),
            policy_versions=_array([s["policy_version"] for s in steps], "int64"),
            process_rewards=_array([math.nan if s.get("process_reward") is None else s["process_reward"] for s in steps],
                                   "float64"),
            weight=trajectory["weight"],
            suspect=trajectory["suspect"],
            outcome_timed_out=trajectory["outcome_timed_out"],
            verifiers_timed_out=trajectory["verifiers_timed_out"],
            terminal=trajectory["terminal"])


def _array(values, dtype):
    return numpy.asarray(values, dtype=dtype) if numpy is not None else values


def _as_list(array):
    return array.tolist() if numpy is not None else list(array)


# --- command line ---------------------------------------------------------------------------------------

class AdvantagesFile:
    """The --advantages-out file: a JSON array with one object for each trajectory used, written batch by batch. A
    batch is in it, flushed to disk, before the batch is acknowledged, and after each batch the file is a whole JSON
    array again: whatever stops the run (an error, Ctrl-C, SIGTERM), every batch its group committed is in the file."""

    def __init__(self, path):
        # Unbuffered: a write that fails (a full disk) fails in _write, where the array is mended, not at close.
        self._file = open(path, "wb", buffering=0)
        self._end = 0  # where the array's closing bracket goes: after the trajectories written so far
        self._trajectories = 0
        self._write(b"[")

    def append(self, trajectories):
        """Adds a batch's trajectories (dicts, as trajectory_record makes them)."""
        if not trajectories:
            return
        self._write((b",\n" if self._trajectories else b"\n")
                    + b",\n".join(json.dumps(t).encode("utf-8") for t in trajectories))
        self._trajectories += len(trajectories)

    def close(self):
        try:
            self._file.close()
        except OSError:
            pass  # nothing is buffered: what was written stays, and the run reports its own error

    def _write(self, body):
        # One write from the closing bracket on: a Ctrl-C or SIGTERM, which Python raises between statements, leaves
        # the array whole, with or without the batch.
        try:
            self._file.seek(self._end)
            self._write_all(body + b"\n]\n")
            os.fsync(self._file.fileno())
        except OSError:
            # Part of the batch may be on disk: cut it off and close the array again, without the batch (which is
            # then not committed), so that the file still holds every batch committed, as a whole JSON array.
            try:
                self._file.truncate(self._end)
                self._file.seek(self._end)
                if self._end:  # past the opening bracket
                    self._write_all(b"\n]\n")
            except OSError:
                pass  # the disk refuses even that: the error below says the file could not be written
            raise
        self._end += len(body)

    def _write_all(self, data):
        # A raw file may write less than it was given.
        view = memoryview(data)
        while view:
            view = view[self._file.write(view):]


def trajectory_record(t):
    """A TrajectoryCredit as the --advantages-out file holds it."""
    return {"batch_id": t.batch_id, "trajectory_id": t.trajectory_id, "step_indices": _as_list(t.step_indices),
            "advantages": _as_list(t.advantages), "trainable": _as_list(t.trainable),
            "token_ids": [None if ids is None else _as_list(ids) for ids in t.token_ids],
            # JSON has no NaN: a step without a logprob is null, as in the batch
            "logprobs": [None if math.isnan(lp) else lp for lp in _as_list(t.logprobs)],
            "payload_refs": t.payload_refs,
            "process_rewards": [None if math.isnan(r) else r for r in _as_list(t.process_rewards)],
            "weight": t.weight, "suspect": t.suspect, "outcome_timed_out": t.outcome_timed_out,
            "verifiers_timed_out": t.verifiers_timed_out, "scoring_unit": t.scoring_unit, "unit_size": t.unit_size,
            "terminal": t.terminal}


class Terminated(BaseException):
    """SIGTERM, raised where the program is, as Python raises KeyboardInterrupt on Ctrl-C (SIGINT), so that the run
    stops the same way. A BaseException, as KeyboardInterrupt is: no `except Exception` takes it for an error."""


def _terminate(signum, frame):
    raise Terminated()


def output_file_problem(path):
    """Why `path` cannot be written, or None: its directory is missing or read-only, or it is a directory or a
    read-only file (the same checks as the Java commands' output files)."""
    absolute = os.path.abspath(path)
    directory = os.path.dirname(absolute)
    if not os.path.isdir(directory):
        return f"directory {directory} does not exist"
    if not os.access(directory, os.W_OK):
        return f"directory {directory} is not writable"
    if os.path.isdir(absolute):
        return "it is a directory; name a file"
    if os.path.exists(absolute) and not os.access(absolute, os.W_OK):
        return "the file is not writable"
    return None


def parse_settings(definitions):
    settings = dict(DEFAULTS)
    for definition in definitions:
        key, sep, value = definition.partition("=")
        if not sep or not (key in DEFAULTS or key.startswith(CLIENT_PREFIX)):
            raise ValueError(f"-D {definition}: expected key=value with a key among {', '.join(DEFAULTS)}"
                             f" or {CLIENT_PREFIX}*")
        settings[key] = value
    return settings


def main(argv=None):
    parser = argparse.ArgumentParser(description="Read Strawless training batches (read_committed) and print"
                                                 " a JSON summary of the per-step credit.",
                                     epilog="Exit codes: 0 stopped by --max-batches or --timeout; 2 a usage error, a"
                                            " Kafka error, a value that is not a TrainingBatch or a failed write of"
                                            " --advantages-out; 130 Ctrl-C; 143 SIGTERM. Once it has started reading,"
                                            " it prints the summary in every case, its stopped_by saying how.")
    parser.add_argument("-D", dest="definitions", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting, by the Java option's key (e.g. -D kafka.bootstrap-servers=host:9092)")
    parser.add_argument("--max-batches", type=int, help="stop after this many batches (default: no limit)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="stop after this many seconds in all (default: %(default)s)")
    parser.add_argument("--advantages-out", metavar="FILE",
                        help="also write every trajectory's steps (index, advantage, trainable, token ids, logprob,"
                             " payload_ref, process reward), its weight, flags and scoring unit to FILE (a JSON array,"
                             " written batch by batch before each batch is committed)")
    parser.add_argument("--schemas", default=DEFAULT_SCHEMA_DIR, metavar="DIR",
                        help="directory with TrainingBatch.avsc, SourceOffset.avsc and TerminalKind.avsc (default: the"
                             " repository's)")
    parser.add_argument("--schema-history", default=DEFAULT_HISTORY_DIR, metavar="DIR",
                        help="directory with every TrainingBatch version a release wrote, v1.avsc, v2.avsc, ...,"
                             " which batches written before an upgrade need (default: the repository's"
                             " schemas/src/main/resources/schema-history/TrainingBatch)")
    args = parser.parse_args(argv)
    # A copy of this script outside the repository would otherwise read today's batches only, and stop at the first
    # one a release before wrote.
    writers = load_writer_schemas(args.schema_history)
    if not writers:
        parser.error(f"--schema-history {args.schema_history}: no v1.avsc there; point it at a copy of"
                     f" schemas/src/main/resources/schema-history/TrainingBatch")
    missing = [name for name in SCHEMA_FILES if not os.path.isfile(os.path.join(args.schemas, name))]
    if missing:
        parser.error(f"--schemas {args.schemas}: no {', '.join(missing)} there; point it at a copy of"
                     f" schemas/src/main/avro")
    # Checked before the consumer joins the group: every batch read is committed as it is used, after it was written
    # to the file, so a file that cannot be written would stop the run at its first batch.
    if args.advantages_out and (problem := output_file_problem(args.advantages_out)):
        parser.error(f"--advantages-out {args.advantages_out}: {problem}")
    try:
        settings = parse_settings(args.definitions)
        config = consumer_config(settings)
        select = batch_filter(settings)
    except ValueError as e:
        parser.error(str(e))

    # Warnings (a commit refused after max.poll.interval.ms, a consumer error librdkafka retries) go to stderr,
    # one line each; the summary alone goes to stdout, and a fatal error is stderr's last line.
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    decoder = BatchDecoder(load_training_batch_schema(args.schemas), writers)
    try:
        consumer = TrainerConsumer(config)
    except KafkaException as e:  # a setting librdkafka refuses (a misspelt key, a Java-only one): nothing was read
        refusal = (e.args[0].str() if e.args and isinstance(e.args[0], KafkaError) else repr(e)).rstrip(".")
        print(json.dumps({"error": "kafka",
                          "reason": f"{refusal}; the {CLIENT_PREFIX}* keys are librdkafka's properties (e.g."
                                    f" {CLIENT_PREFIX}sasl.username and {CLIENT_PREFIX}sasl.password, not Java's"
                                    " sasl.jaas.config): fix or remove that -D setting"}), file=sys.stderr)
        return 2
    summary = {"topic": settings["topics.batches"], "group": settings["trainer.group-id"], "batches": 0,
               "trajectories": 0, "steps": 0, "trainable_steps": 0, "advantage_sum": 0.0,
               "zero_weight_trajectories": 0}
    filtered_out = {"batches": 0, "trajectories": 0}

    def counted(batch):
        selected = select(batch)
        filtered_out["batches"] += int(selected is None)
        filtered_out["trajectories"] += len(batch["trajectories"]) - (0 if selected is None
                                                                      else len(selected["trajectories"]))
        return selected

    started = time.monotonic()
    advantages = None
    error = None
    code = 0
    # A scheduler or `kill` stopping the run: it stops as on Ctrl-C, with what it committed in the file.
    previous_sigterm = signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.advantages_out:
            advantages = AdvantagesFile(args.advantages_out)
        consumer.subscribe([settings["topics.batches"]])
        for batch in training_batches(consumer, decoder, counted, args.max_batches,
                                      started + args.timeout):
            used = list(trajectories(batch))
            # Written before the batch is acknowledged (when the loop comes back for the next one, which commits it).
            if advantages is not None:
                advantages.append([trajectory_record(t) for t in used])
            summary["batches"] += 1
            for t in used:
                summary["trajectories"] += 1
                summary["steps"] += len(t.advantages)
                summary["trainable_steps"] += int(sum(t.trainable))
                # The credit a trainer applies: a suspect's advantages are kept in the batch but weigh 0.
                summary["advantage_sum"] += t.weight * float(sum(t.advantages))
                summary["zero_weight_trajectories"] += int(t.weight == 0)
        reached = args.max_batches is not None and summary["batches"] >= args.max_batches
        stopped_by = "max-batches" if reached else "timeout"
    except UndecodableBatch as e:
        stopped_by, code = "error", 2
        error = {"error": "undecodable", "topic": e.topic, "partition": e.partition, "offset": e.offset,
                 "reason": e.reason}
    except KafkaException as e:  # retrying cannot mend it (FATAL_CONSUMER_ERRORS): e.g. the topic does not exist
        stopped_by, code = "error", 2
        error = {"error": "kafka", "reason": str(e.args[0]) if e.args else repr(e)}
    except OSError as e:  # writing --advantages-out (a full disk): the batch it was on is not committed
        stopped_by, code = "error", 2
        error = {"error": "advantages-out", "reason": f"{args.advantages_out}: {e.strerror or e}"}
    except (KeyboardInterrupt, Terminated) as e:
        stopped_by, code = "interrupt", 128 + (signal.SIGTERM if isinstance(e, Terminated) else signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)
        consumer.close()
        if advantages is not None:
            advantages.close()

    summary["filtered_out"] = filtered_out["batches"]
    summary["filtered_out_trajectories"] = filtered_out["trajectories"]
    summary["stopped_by"] = stopped_by
    summary["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(summary))
    if error is not None:  # stderr's last line
        print(json.dumps(error), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
