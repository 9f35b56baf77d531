// The line to notify's terminal socket (docs/contracts.md): a fresh ticket for each connection
// offered as the `kj-ticket.<ticket>` subprotocol; every delivery acknowledged (`ack`), `read`
// once shown; answers sent from the outbox one at a time, in order, each removed only when the
// platform has taken it. The browser's offline event ends the socket at once (a half-open
// socket in a dead zone would swallow answers); back online, it connects again.

import { SignInError, ticket } from './session.js';

const REPLY_TIMEOUT_MS = 10_000; // no answer to an answer: the line is dead, connect again
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
// refusals that will never change: the answer is dropped and the officer told why; any other
// error (the platform busy, a limit) leaves it queued for the next try
const FINAL = new Set([
  'not_your_work_order',
  'withdrawn',
  'disposition_required',
  'reason_required',
  'bad_frame',
]);

function socketUrl(wsUrl, unitId) {
  let url = wsUrl;
  const secure = location.protocol === 'https:';
  if (!url) url = `${secure ? 'wss' : 'ws'}://${location.hostname}:8040/v1/terminals/ws`;
  else if (url.startsWith('/')) url = `${secure ? 'wss' : 'ws'}://${location.host}${url}`;
  return `${url}?unit_id=${encodeURIComponent(unitId)}`;
}

export class Link {
  constructor({ device, outbox, onDelivery, onStatus, onAnswered, onSignedOut }) {
    this.device = device;
    this.outbox = outbox;
    this.onDelivery = onDelivery;
    this.onStatus = onStatus;
    this.onAnswered = onAnswered; // (answer, refusal reason or null)
    this.onSignedOut = onSignedOut;
    this.socket = null;
    this.status = 'connecting';
    this.inFlight = null;
    this.replyTimer = null;
    this.retry = 0;
    this.retryTimer = null;
    this.stopped = false;
    addEventListener('offline', () => this.drop());
    addEventListener('online', () => this.connectSoon(0));
  }

  start() {
    this.connectSoon(0);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.drop();
  }

  setStatus(status) {
    this.status = status;
    this.onStatus(status);
  }

  connectSoon(delay) {
    clearTimeout(this.retryTimer);
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  async connect() {
    if (this.stopped || this.socket || !navigator.onLine) {
      if (!navigator.onLine) this.setStatus('offline');
      return;
    }
    this.setStatus('connecting');
    let session;
    try {
      session = await ticket(this.device);
    } catch (error) {
      if (error instanceof SignInError && error.reason === 'bad_credentials') {
        this.onSignedOut();
        return;
      }
      this.again();
      return;
    }
    if (this.stopped || this.socket || !navigator.onLine) return;
    const socket = new WebSocket(socketUrl(session.ws_url, this.device.unit_id), [
      `kj-ticket.${session.ticket}`,
    ]);
    this.socket = socket;
    socket.onmessage = (event) => this.frame(socket, event.data);
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.lost();
      this.again();
    };
  }

  again() {
    this.setStatus(navigator.onLine ? 'connecting' : 'offline');
    const delay = BACKOFF_MS[Math.min(this.retry, BACKOFF_MS.length - 1)];
    this.retry += 1;
    if (navigator.onLine) this.connectSoon(delay);
  }

  // the socket is gone: what was in flight stays at the head of the outbox, sent again later
  lost() {
    clearTimeout(this.replyTimer);
    this.inFlight = null;
  }

  drop() {
    const socket = this.socket;
    this.socket = null;
    this.lost();
    if (socket) socket.close();
    this.setStatus('offline');
  }

  frame(socket, raw) {
    if (this.socket !== socket) return;
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    if (frame.type === 'hello') {
      this.retry = 0;
      this.setStatus('online');
      this.pump();
    } else if (frame.type === 'work_order') {
      this.send({ type: 'ack', delivery_id: frame.delivery_id });
      this.onDelivery(frame);
    } else if (frame.type === 'ok' || frame.type === 'error') {
      this.replied(frame);
    }
  }

  replied(frame) {
    const answer = this.inFlight;
    if (!answer) return;
    if (frame.ref !== undefined && frame.ref !== answer.work_order_id) return;
    if (frame.type === 'error' && frame.ref === undefined && frame.reason !== 'bad_frame') return;
    clearTimeout(this.replyTimer);
    this.inFlight = null;
    if (frame.type === 'ok') {
      this.outbox.remove(answer.event_id);
      this.onAnswered(answer, null);
    } else if (FINAL.has(frame.reason)) {
      this.outbox.remove(answer.event_id);
      this.onAnswered(answer, frame.reason);
    } else {
      // kept: tried again after a pause
      setTimeout(() => this.pump(), 2000);
      return;
    }
    this.pump();
  }

  read(deliveryId) {
    this.send({ type: 'read', delivery_id: deliveryId });
  }

  send(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  // the head of the outbox, if nothing is in flight
  pump() {
    if (this.inFlight || this.status !== 'online') return;
    const answer = this.outbox.head();
    if (!answer) return;
    const frame = { type: 'event', ...answer };
    if (!this.send(frame)) return;
    this.inFlight = answer;
    this.replyTimer = setTimeout(() => {
      const socket = this.socket;
      this.socket = null;
      this.lost();
      if (socket) socket.close();
      this.again();
    }, REPLY_TIMEOUT_MS);
  }
}
