// What happened to a person's action: sent, then dispatch's answer (done, or refused with the
// reason), or no answer in time.
import { h } from '../dom.js';
import { code, t } from '../i18n.js';
import { store, subscribe } from '../store.js';

let root = null;

function settle(answer) {
  const pending = store.pending.get(answer.command_id);
  if (!pending) return;
  store.pending.delete(answer.command_id);
  clearTimeout(pending.timer);
  const what = t(`cmd.${answer.kind}`);
  if (answer.outcome === 'done') toast(t('toast.done', { what }), 'done');
  else toast(t('toast.refused', { what, reason: code('refusal', answer.reason) }), 'refused', answer.reason);
}

export function mountToasts(element) {
  root = element;
  subscribe('answer', settle);
}

export function toast(text, kind = 'info', reason = null) {
  if (!root) return;
  const item = h('div', { class: `toast ${kind}`, role: 'status', dataset: { reason: reason || '' } }, text);
  root.append(item);
  setTimeout(() => item.remove(), kind === 'refused' ? 15000 : 6000);
}

// a command was sent: wait for its answer (it may have come before the POST returned)
export function awaitAnswer(commandId, kind) {
  const what = t(`cmd.${kind}`);
  toast(t('toast.sent', { what }), 'info');
  const timer = setTimeout(() => {
    if (store.pending.delete(commandId)) toast(t('toast.no_answer', { what }), 'warning');
  }, (store.me?.command_answer_s ?? 10) * 1000);
  store.pending.set(commandId, { timer });
  const early = store.answers.get(commandId);
  if (early) settle(early);
}
