"""Unit states go to `units.state` through the runtime's keyed batch publisher (one record
batch per partition; kj_runtime.batch_publisher)."""

from kj_runtime.batch_publisher import KeyedBatchPublisher as StatePublisher

__all__ = ["StatePublisher"]
