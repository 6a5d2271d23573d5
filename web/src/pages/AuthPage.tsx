// Signing in and signing up; both return the buyer to the page they came from (?next=).
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { call } from '../api';
import { Field } from '../components';
import { problemOf, safeNext, sessionFromLogin, signInPath } from '../logic';
import { usePageTitle } from '../polling';
import { useSession } from '../session';

export function AuthPage({ mode }: { mode: 'signin' | 'signup' }) {
  const { signIn } = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const title = mode === 'signin' ? 'Sign in' : 'Create an account';
  usePageTitle(title);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    if (mode === 'signup') {
      const created = await call('POST', '/users', { body: { email, password } });
      if (created.status !== 201) {
        setBusy(false);
        setError(
          created.body.error === 'email_taken'
            ? 'An account with this email already exists: sign in instead.'
            : created.body.error === 'invalid_request'
              ? 'Check the email, and use a password of 8 to 128 characters.'
              : (problemOf(created) ?? 'Could not create the account; try again.'),
        );
        return;
      }
    }
    const login = await call<{ token: string; expires_in: number; user_id: string }>('POST', '/users/authenticate', { body: { email, password } });
    setBusy(false);
    if (login.status === 200) {
      signIn(sessionFromLogin(login.body, email, Date.now()));
      navigate(next, { replace: true });
    } else {
      setError(login.status === 401 ? 'Wrong email or password.' : login.status === 400 ? 'Check the email and the password.' : (problemOf(login) ?? 'Could not sign in; try again.'));
    }
  };

  return (
    <form className="card narrow" onSubmit={submit} aria-labelledby="page-title" noValidate={false}>
      <h1 id="page-title">{title}</h1>
      {next !== '/' && <p>Sign in and we bring you back to where you were.</p>}
      <Field label="Email" id="email" type="email" value={email} onChange={setEmail} autoComplete="email" />
      <Field
        label="Password"
        id="password"
        type="password"
        value={password}
        onChange={setPassword}
        autoComplete={mode === 'signin' ? 'current-password' : 'new-password'}
        hint={mode === 'signup' ? '8 to 128 characters.' : undefined}
      />
      <p className="error" role="alert">{error}</p>
      <p className="row">
        <button className="primary" type="submit" disabled={busy}>
          {busy ? (mode === 'signin' ? 'Signing in…' : 'Creating…') : mode === 'signin' ? 'Sign in' : 'Create account'}
        </button>
      </p>
      <p>
        {mode === 'signin' ? (
          <>New here? <Link to={signInPath(next, 'signup')}>Create an account</Link></>
        ) : (
          <>Have an account? <Link to={signInPath(next, 'signin')}>Sign in</Link></>
        )}
      </p>
    </form>
  );
}
