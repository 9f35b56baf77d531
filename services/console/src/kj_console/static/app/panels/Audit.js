// Everyone's actions (supervisors): who did what, and the answer it got.
import { api } from '../api.js';
import { h } from '../dom.js';
import { code, t } from '../i18n.js';
import { dateTime } from '../clock.js';

export async function renderAudit(root) {
  const entries = await api.audit();
  const rows = entries.map((e) =>
    h(
      'tr',
      {},
      h('td', {}, dateTime(e.at)),
      h('td', {}, e.actor),
      h('td', {}, code('cmd', e.action)),
      h('td', {}, code('outcome', e.outcome)),
      h('td', {}, e.reason ? code('refusal', e.reason) : ''),
    ),
  );
  root.replaceChildren(
    entries.length === 0
      ? h('p', { class: 'empty' }, t('audit.empty'))
      : h(
          'table',
          { class: 'audit' },
          h('thead', {}, h('tr', {}, h('th', {}, t('audit.at')), h('th', {}, t('audit.actor')), h('th', {}, t('audit.action')), h('th', {}, t('audit.outcome')), h('th', {}, ''))),
          h('tbody', {}, rows),
        ),
  );
  return () => {};
}
