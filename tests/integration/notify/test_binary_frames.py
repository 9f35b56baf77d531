"""Terminals whose WebSocket library sends JSON in binary frames are served like the others;
a binary frame that is not UTF-8 gets an error frame and the socket stays up."""

from aiokafka import AIOKafkaProducer

from kj_runtime.settings import KafkaSettings
from kj_schemas.topics import DISPATCH_WORKORDERS

from .conftest import RunningNotify, publish, unit, work_order
from .terminal_client import Terminal


async def test_binary_json_frames_are_understood_and_garbage_bytes_refused(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    unit_id = unit("B")
    terminal = await Terminal(notify.ws, unit_id, ack=False).connect()
    try:
        assert terminal.connection is not None
        await terminal.connection.send(b"\xff\xfe not text")
        await terminal.wait_for(
            lambda: any(f.get("reason") == "frame_not_utf8_json" for f in terminal.frames)
        )
        order = work_order(unit_id)
        await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, order)
        await terminal.wait_for(lambda: str(order.work_order_id) in terminal.assigned())
        frame = terminal.orders[(str(order.work_order_id), "assign")]
        # the acknowledgement goes as a binary frame: the gateway stops re-sending, and an
        # answer in a binary frame is accepted like a text one
        await terminal.connection.send(
            f'{{"type": "ack", "delivery_id": {frame["delivery_id"]}}}'.encode()
        )
        await terminal.connection.send(
            f'{{"type": "event", "work_order_id": "{order.work_order_id}", '
            '"kind": "accepted"}'.encode()
        )
        reply = await terminal.next_reply(str(order.work_order_id))
        assert reply["type"] != "error", reply
    finally:
        await terminal.close()
