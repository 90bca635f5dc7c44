/**
 * The dashboard's entry point: a sign-in form (field "Token"), then the Cluster, Services and Events
 * views kept live by the watch stream. Routes are the URL's fragment (#/cluster, #/services,
 * #/events), so the control plane serves one page.
 */
import './styles.css';
import { h } from './dom';
import { ApiError, Session } from './session';
import { WatchClient } from './watch.client';
import { everything, type Touched } from './cluster.state';
import { ClusterView } from './views/cluster.view';
import { EventsView } from './views/events.view';
import { ServicesView } from './views/services.view';
import { ServiceView } from './views/service.view';

const ROUTES = [['cluster', 'Cluster'], ['services', 'Services'], ['events', 'Events']] as const;
type Route = (typeof ROUTES)[number][0];

const root = document.getElementById('app')!;

function showSignIn(reason?: string): void {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const alert = h('p', { role: 'alert', class: 'error' }, reason ?? '');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h2', { id: 'sign-in-title' }, 'Sign in'),
    h('label', { for: 'token' }, 'Token'), input, button, alert,
    h('p', { class: 'hint' }, 'A token from "tsctl token create". It is kept in this page only: a reload asks for it again.'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    button.disabled = true;
    Session.signIn(input.value.trim()).then(showApp, (error: Error) => {
      button.disabled = false;
      alert.textContent = error instanceof ApiError && error.status === 401 ? `The token was refused: ${error.message}` : `Could not sign in: ${error.message}`;
    });
  });
  root.replaceChildren(h('header', { class: 'top' }, h('h1', {}, 'Tide')), h('main', {}, form));
  input.focus();
}

function showApp(session: Session): void {
  const status = h('p', { role: 'status', class: 'status' }, 'connecting…');
  const main = h('main', { id: 'main' });
  const links = new Map<Route, HTMLAnchorElement>(ROUTES.map(([route, title]) => [route, h('a', { href: `#/${route}` }, title)]));
  const signOut = h('button', { type: 'button', class: 'link' }, 'Sign out');
  let route: Route | undefined;
  /** The service page open, if any (#/services/NAMESPACE/NAME). */
  let servicePage: ServiceView | undefined;
  // The views are made below; the watch calls back only once started, at the end.
  const update = (touched: Touched) => {
    if (route === 'cluster') cluster.update(touched);
    // The nodes' used numbers are on the Cluster view only.
    if (!touched.all && touched.nodes.size === 0 && !touched.services && !touched.pending) return;
    if (route === 'services' && servicePage) servicePage.update(touched.services);
    else if (route === 'services') services.update();
  };
  const watch = new WatchClient(session, {
    update,
    status: (connected, message) => {
      status.textContent = message;
      status.classList.toggle('offline', !connected);
    },
    refused: (error) => {
      leave();
      showSignIn(`Signed out: ${error.message}`);
    },
  });
  const state = watch.state;
  const cluster = new ClusterView(state, session);
  const services = new ServicesView(state, session);
  const events = new EventsView(session);

  const navigate = () => {
    const [next, namespace, name] = (location.hash.replace(/^#\//, '') || 'cluster').split('/').map(decodeURIComponent) as [Route, string?, string?];
    route = links.has(next) ? next : 'cluster';
    servicePage?.stop();
    servicePage = route === 'services' && namespace && name ? new ServiceView(state, session, namespace, name) : undefined;
    for (const [name, link] of links) {
      if (name === route) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    if (route === 'events') events.start();
    else events.stop();
    const view = route === 'cluster' ? cluster : route === 'services' ? servicePage ?? services : events;
    main.replaceChildren(view.element);
    update(everything(state));
  };
  const leave = () => {
    window.removeEventListener('hashchange', navigate);
    watch.stop();
    events.stop();
    servicePage?.stop();
  };
  signOut.addEventListener('click', () => {
    leave();
    showSignIn();
  });

  root.replaceChildren(
    h('header', { class: 'top' }, h('h1', {}, 'Tide'),
      h('nav', { 'aria-label': 'Views' }, h('ul', {}, ...[...links.values()].map((link) => h('li', {}, link)))),
      h('p', { class: 'who' }, `${session.identity.name}${session.identity.role ? ` (${session.identity.role})` : ''}`, ' ', signOut)),
    main,
    h('footer', {}, status),
  );
  window.addEventListener('hashchange', navigate);
  navigate();
  watch.start();
}

// A browser with a client certificate is signed in by it; anyone else gets the form.
Session.signIn(undefined).then(showApp, () => showSignIn());
