// Who is logged in: the account corner of the bar (log in, or the user's name and log out) and
// the parts a role brings: the bureau's editor and review queue, a township officer's "My tasks",
// outbox and inbox.

import { t, applyI18n } from './i18n.js';
import { loginDialog, logout } from './auth.js';
import { isStaff } from './detail.js';
import { choosePassword } from './password.js';
import { townshipImport } from './township-import.js';
import { ledgerImport } from './ledger-import.js';
import { myTasks } from './mytasks.js';
import { inbox } from './inbox.js';
import * as outbox from './offline.js';
import { forgetEverything } from './pwa.js';
import { h, $, clear } from './ui.js';

/**
 * The account corner and the login dialog, wired to the application.
 * @param {import('./app.js').App} app
 * @returns {{apply: (justLoggedIn?: boolean) => void, render: () => void}} `apply` brings in the
 *   parts of `app.user`'s role; `render` redraws the corner (after a change of language)
 */
export function account(app) {
  const dialog = loginDialog($('#login-dialog'), {
    onLogin: async (u) => {
      if (u.must_change_password) {
        await choosePassword();
        location.reload();
        return;
      }
      if (u.two_factor_required && !u.two_factor) {
        await (await import('./two-factor.js')).enrolNow(u);
        location.reload();
        return;
      }
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
      isStaff(user)
        ? [h('button', { type: 'button', class: 'secondary', id: 'ledger-import-open', onclick: () => openLedgerImport(app) },
          t('ledgerImport.open')),
        h('button', { type: 'button', class: 'secondary', id: 'campaigns-open', onclick: () => openCampaigns(app) },
          t('campaigns.open'))]
        : null,
      user.role === 'admin'
        ? [h('button', { type: 'button', class: 'secondary', id: 'admin-open', onclick: () => openAdmin(app) }, t('admin.open')),
          h('button', { type: 'button', class: 'secondary', id: 'township-import-open', onclick: () => openImport(app) },
            t('townshipImport.open')),
          h('button', { type: 'button', class: 'secondary', id: 'audit-open', onclick: () => openAudit(app) },
            t('audit.open'))]
        : null,
      isStaff(user) || user.two_factor || user.two_factor_required
        ? h('button', { type: 'button', class: 'secondary', id: 'two-factor-open', onclick: () => openTwoFactor(app) },
          t('twoFactor.open'))
        : null,
      h('span', { class: 'who', id: 'who' }, user.display_name || user.username),
      h('button', { type: 'button', class: 'secondary', id: 'logout', onclick: () => logOut() }, t('login.logout')));
  }

  function apply(justLoggedIn = false) {
    render();
    const { user } = app;
    if (!user) return;
    if (isStaff(user)) {
      startEditor(app);
      startReview(app);
    }
    if (((user.role === 'township' && user.township) || (user.role === 'department' && user.department)) && !app.mine) {
      startMyTasks(app, justLoggedIn);
    }
    // Reminders go to units (townships, departments); staff belong to none.
    if (!isStaff(user)) startInbox(app);
    if (justLoggedIn) {
      app.refresh();
      if (app.state.task) app.panel.open(app.state.task);
    }
  }

  return { apply, render };
}

/** Logs out after a word about reports not sent yet; then nothing of the user stays on the phone
 * (kept answers, the outbox) nor in memory (the page is loaded anew). */
async function logOut() {
  const unsent = (await outbox.entries().catch(() => [])).filter((e) => e.state !== 'sent').length;
  if (unsent && !confirm(t('logout.unsent', { n: unsent }))) return;
  await logout().catch(() => {});
  await forgetEverything().catch(() => {});
  location.reload();
}

/** The bureau's editor, loaded only for the bureau: the public and townships never fetch it. */
async function startEditor(app) {
  const editing = await import('./editor.js');
  app.editor ??= editing.editor(app.map, {
    categories: app.categories,
    townships: () => app.townships,
    showForm: (title, node) => app.panel.showContent(title, node),
    hideOnMap: (id, yes) => app.layer.hide(id, yes),
    onSaved: (feature, etag, message) => {
      app.panel.show(feature, etag, message);
      app.refresh();
    },
    onChanged: () => app.refresh(),
    onCancel: (feature) => (feature ? app.panel.open(feature.id) : app.panel.close()),
  });
  await app.editor.enable();
}

/** The bureau's review queue (待审核) tab, loaded only for the bureau like the editor. Its tab shows
 * at once, so that a link naming it (?tab=review) opens it; the list follows with the module. */
async function startReview(app) {
  const button = $('#tab-button-review');
  if (!button.hidden) return;
  button.hidden = false;
  const review = await import('./review.js');
  app.review = review.reviewQueue($('#tab-review'), {
    badge: $('#review-count'),
    visible: () => !$('#tab-review').hidden,
    onOpen: (id) => app.panel.open(id, true),
    onChanged: (feature, etag, message) => {
      // The task open beside the list shows what became of it.
      if (app.state.task === feature.id) app.panel.show(feature, etag, message);
      app.refresh();
    },
  });
}

/** The inbox (收件箱) tab of a unit's officer, its badge counting what is unread. */
function startInbox(app) {
  const button = $('#tab-button-inbox');
  if (!button.hidden) return;
  button.hidden = false;
  app.inbox = inbox($('#tab-inbox'), {
    badge: $('#inbox-count'),
    visible: () => !$('#tab-inbox').hidden,
    onOpen: (id) => app.panel.open(id, true),
  });
}

/** A township officer's "My tasks" tab, shown first on logging in with the map on the township,
 * and the outbox sent. */
function startMyTasks(app, justLoggedIn) {
  $('#tab-button-mine').hidden = false;
  const bounds = app.towns.bounds(app.user.township);
  if (bounds && (justLoggedIn || !app.state.view)) app.map.fitBounds(bounds, { padding: [8, 8] });
  app.mine = myTasks($('#tab-mine'), {
    user: app.user,
    families: app.categories,
    onOpen: (id) => app.panel.open(id, true),
    onReport: (id) => app.panel.reportOn(id),
  });
  app.mine.reload();
  if (justLoggedIn || !app.state.tab) app.tabs.show('mine');
  outbox.flush(app.user.username);
}

/** The administrator's security audit trail, in the panel beside the map (loaded only for them). */
async function openAudit(app) {
  const audit = await import('./audit.js');
  const box = h('div', { class: 'audit-trail' });
  audit.auditTrail(box);
  app.panel.showContent(t('audit.title'), box);
}

/** The caller's two-step verification (and an administrator's policy of it), loaded on first use. */
async function openTwoFactor(app) {
  const twoFactor = await import('./two-factor.js');
  twoFactor.openTwoFactor(app.user, (user) => {
    app.user = user;
  });
}

/** The administrator's township import, in the panel beside the map. */
function openImport(app) {
  const box = h('div', { class: 'township-import' });
  townshipImport(box);
  app.panel.showContent(t('townshipImport.title'), box);
}

/** The administrator's page (accounts and task families), loaded on first use, in the panel. */
async function openAdmin(app) {
  const admin = await import('./admin.js');
  const box = h('div', { class: 'admin' });
  app.panel.showContent(t('admin.title'), box);
  await admin.adminPage(box, { townships: app.townships, onFamiliesChanged: (families) => useFamilies(app, families) });
  box.querySelector('[role=tab][aria-selected=true]')?.focus();
}

/** The bureau's campaigns, targets and assessment, loaded on first use, in the panel. */
async function openCampaigns(app) {
  const page = await import('./campaigns.js');
  const box = h('div', { class: 'campaigns' });
  app.panel.showContent(t('campaigns.title'), box);
  await page.campaignsPage(box, { townships: app.townships, families: app.categories });
  app.figures.refresh();
}

/** The families as they are now, for the legend, the filters, the task forms and the map's colours. */
function useFamilies(app, families) {
  app.categoryList.splice(0, app.categoryList.length, ...families);
  app.categories.clear();
  app.colors.clear();
  for (const f of families) {
    app.categories.set(f.code, f);
    app.colors.set(f.code, f.color);
  }
  app.filters.render();
}

/** The bureau's import of its existing ledger (Excel or CSV), in the panel beside the map. */
function openLedgerImport(app) {
  const box = h('div', { class: 'ledger-import' });
  ledgerImport(box, { onImported: () => app.refresh() });
  app.panel.showContent(t('ledgerImport.title'), box);
}
