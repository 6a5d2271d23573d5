// The React client's pages and their addresses: the sales (/), a sale (/sales/:saleId), the
// buyer's orders (/orders), the admin's page (/admin), signing in and up (/signin, /signup,
// with ?next= to return to). Every address is a real URL: it can be shared, reloaded, and the
// browser's back button moves between pages. It talks only to the gateway (api.ts).
import { useEffect, useRef, type ReactNode } from 'react';
import { createBrowserRouter, Link, Navigate, NavLink, Outlet, ScrollRestoration, useLocation, useParams } from 'react-router';
import { signInPath } from './logic';
import { usePageTitle } from './polling';
import { SessionProvider, useSession } from './session';
import { AdminPage } from './pages/AdminPage';
import { AuthPage } from './pages/AuthPage';
import { OrdersPage } from './pages/OrdersPage';
import { SalePage } from './pages/SalePage';
import { SalesPage } from './pages/SalesPage';

function Layout() {
  const { session, ended, signOut, forgetSignOut } = useSession();
  const location = useLocation();
  const here = `${location.pathname}${location.search}`;
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // A new page moves the focus to its content, as a page load would, for keyboards and readers.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus({ preventScroll: true });
    forgetSignOut();
  }, [location.pathname, forgetSignOut]);

  const onAuthPage = location.pathname === '/signin' || location.pathname === '/signup';
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header>
        <Link className="brand" to="/">Flash sale</Link>
        <nav aria-label="Main">
          <NavLink to="/" end>Sales</NavLink>
          {session && <NavLink to="/orders">My orders</NavLink>}
          {session?.role === 'admin' && <NavLink to="/admin">Admin</NavLink>}
          {session ? (
            <button
              type="button"
              className="link"
              onClick={signOut}
            >
              Sign out
            </button>
          ) : (
            !onAuthPage && <NavLink to={signInPath(here)}>Sign in</NavLink>
          )}
        </nav>
      </header>
      {ended === 'expired' && !session && (
        <div className="banner" role="alert">
          Your session has ended, so you are signed out. {!onAuthPage && <Link to={signInPath(here)}>Sign in again</Link>}
        </div>
      )}
      <main id="main" ref={main} tabIndex={-1}>
        <Outlet />
      </main>
      <ScrollRestoration />
    </>
  );
}

/** Pages for signed-in buyers: a visitor is sent to sign in and comes back here after. */
function SignedIn({ children, admin = false }: { children: (token: string) => ReactNode; admin?: boolean }) {
  const { session, ended } = useSession();
  const location = useLocation();
  // Signed out on purpose: to the sales, not to a sign-in form.
  if (!session && ended === 'signed out') return <Navigate to="/" replace />;
  if (!session) return <Navigate to={signInPath(`${location.pathname}${location.search}`)} replace />;
  if (admin && session.role !== 'admin') return <Forbidden />;
  return <>{children(session.token)}</>;
}

function Forbidden() {
  usePageTitle('Admins only');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Admins only</h1>
      <p>This page is for the shop's admins. <Link to="/">See the sales</Link></p>
    </section>
  );
}

function NotFound() {
  usePageTitle('Page not found');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Page not found</h1>
      <p>There is no page at this address. <Link to="/">See the sales</Link></p>
    </section>
  );
}

function SaleRoute() {
  const { saleId = '' } = useParams();
  // A page per sale: another sale's figures never show under this one's name.
  return <SalePage key={saleId} saleId={saleId} />;
}

function Root() {
  return (
    <SessionProvider>
      <Layout />
    </SessionProvider>
  );
}

export const router = createBrowserRouter([
  {
    element: <Root />,
    children: [
      { path: '/', element: <SalesPage /> },
      { path: '/sales/:saleId', element: <SaleRoute /> },
      { path: '/orders', element: <SignedIn>{(token) => <OrdersPage token={token} />}</SignedIn> },
      { path: '/admin', element: <SignedIn admin>{(token) => <AdminPage token={token} />}</SignedIn> },
      { path: '/signin', element: <AuthPage mode="signin" /> },
      { path: '/signup', element: <AuthPage mode="signup" /> },
      { path: '*', element: <NotFound /> },
    ],
  },
]);
