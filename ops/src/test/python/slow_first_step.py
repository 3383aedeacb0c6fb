#!/usr/bin/python3
"""PythonTrainerTest's trainer with a slow first step: reads batches with strawless_trainer's reading loop
(TrainerConsumer, training_batches), as a trainer adapting the example would, and spends --first-step-seconds
on the first batch it gets, as a long training step would (creating --holding-file as it starts). Prints the
batch ids it got, in order, as a JSON list.
"""

import argparse
import json
import logging
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python"))

import strawless_trainer  # noqa: E402  (found through the path above)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-D", dest="definitions", action="append", default=[])
    parser.add_argument("--first-step-seconds", type=float, required=True)
    parser.add_argument("--max-batches", type=int, required=True)
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--holding-file", help="created when the slow step starts")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    settings = strawless_trainer.parse_settings(args.definitions)
    consumer = strawless_trainer.TrainerConsumer(strawless_trainer.consumer_config(settings))
    consumer.subscribe([settings["topics.batches"]])
    decoder = strawless_trainer.BatchDecoder(strawless_trainer.load_training_batch_schema())
    batch_ids = []
    try:
        for batch in strawless_trainer.training_batches(consumer, decoder, strawless_trainer.batch_filter(settings),
                                                        args.max_batches, time.monotonic() + args.timeout):
            batch_ids.append(batch["batch_id"])
            if len(batch_ids) == 1:
                if args.holding_file:
                    open(args.holding_file, "w").close()
                time.sleep(args.first_step_seconds)
    finally:
        consumer.close()
    print(json.dumps(batch_ids))


if __name__ == "__main__":
    main()
