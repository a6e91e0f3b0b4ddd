// Who is logged in: the account corner of the bar (log in, or the user's name and log out) and
// the parts a role brings: the bureau's editor, a township officer's "My tasks" and outbox.

import { t, applyI18n } from './i18n.js';
import { loginDialog, logout } from './auth.js';
import { isStaff } from './detail.js';
import { myTasks } from './mytasks.js';
import * as outbox from './offline.js';
import { h, $, clear } from './ui.js';

/**
 * The account corner and the login dialog, wired to the application.
 * @param {import('./app.js').App} app
 * @returns {{apply: (justLoggedIn?: boolean) => void, render: () => void}} `apply` brings in the
 *   parts of `app.user`'s role; `render` redraws the corner (after a change of language)
 */
export function account(app) {
  const dialog = loginDialog($('#login-dialog'), {
    onLogin: (u) => {
      app.user = u;
      apply(true);
    },
  });
  applyI18n($('#login-dialog'));

  function render() {
    const { user } = app;
    const corner = $('#account');
    document.body.dataset.role = user ? user.role : 'public';
    if (!user) {
      clear(corner, h('button', { type: 'button', id: 'login-open', onclick: () => dialog.open() }, t('login.open')));
      return;
    }
    clear(corner,
      h('span', { class: 'who', id: 'who' }, user.display_name || user.username),
      h('button', { type: 'button', class: 'secondary', id: 'logout', onclick: async () => {
        await logout().catch(() => {});
        // A clean page: nothing of the last user's rights or data stays in memory.
        location.reload();
      } }, t('login.logout')));
  }

  function apply(justLoggedIn = false) {
    render();
    const { user } = app;
    if (!user) return;
    if (isStaff(user)) app.editor.enable();
    if (user.role === 'township' && user.township && !app.mine) startMyTasks(app, justLoggedIn);
    if (justLoggedIn) {
      app.refresh();
      if (app.state.task) app.panel.open(app.state.task);
    }
  }

  return { apply, render };
}

/** A township officer's "My tasks" tab, shown first on logging in, and the outbox sent. */
function startMyTasks(app, justLoggedIn) {
  $('#tab-button-mine').hidden = false;
  app.mine = myTasks($('#tab-mine'), {
    user: app.user,
    onOpen: (id) => app.panel.open(id, true),
    onReport: (id) => app.panel.reportOn(id),
  });
  app.mine.reload();
  if (justLoggedIn || !app.state.tab) app.tabs.show('mine');
  outbox.flush();
}
