// The sign-in form.
import { api } from '../api.js';
import { h } from '../dom.js';
import { lang, setLang, t } from '../i18n.js';

export function renderLogin(root, onSignedIn) {
  const error = h('p', { class: 'login-error', role: 'alert' });
  const username = h('input', { name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h(
    'form',
    { class: 'login', onsubmit: submit },
    h('h1', {}, t('app.title')),
    h('h2', {}, t('login.title')),
    h('label', {}, t('login.username'), username),
    h('label', {}, t('login.password'), password),
    h('button', { type: 'submit' }, t('login.submit')),
    error,
    h('button', { type: 'button', class: 'link', onclick: () => { setLang(lang() === 'zh' ? 'en' : 'zh'); renderLogin(root, onSignedIn); } }, t('lang.switch')),
  );
  async function submit(event) {
    event.preventDefault();
    error.textContent = '';
    try {
      const me = await api.login(username.value, password.value);
      onSignedIn(me);
    } catch (e) {
      const reason = e.body?.reason;
      error.textContent = reason === 'bad_credentials' || reason === 'locked' ? t(`login.${reason}`) : t('login.failed');
    }
  }
  root.replaceChildren(h('div', { class: 'login-page' }, form));
  username.focus();
}
