/**
 * The built-in policy, used when `POLICY` holds none. It encodes the case ipgate was built
 * for: on authentication paths, block IPs scored Dangerous or Critical and traffic from VPNs,
 * Tor, proxies and hosting providers (real users rarely log in from those); elsewhere, pass
 * everything and record it.
 */
import type { PolicyInput } from './schema';

export const DEFAULT_AUTH_PATHS = [
  '/login',
  '/log-in',
  '/signin',
  '/sign-in',
  '/signup',
  '/sign-up',
  '/register',
  '/password/reset',
  '/password-reset',
  '/reset-password',
  '/forgot-password',
  '/password/forgot',
  '/account/login',
  '/user/login',
  '/users/sign_in',
  '/users/password',
  '/wp-login.php',
  '/xmlrpc.php',
  '/api/auth/*',
  '/auth/*',
  '/oauth/token',
];

export const DEFAULT_POLICY_DOCUMENT: PolicyInput = {
  comment: 'ipgate built-in defaults',
  mode: 'enforce',
  routeClasses: [
    {
      name: 'auth',
      paths: DEFAULT_AUTH_PATHS,
      rules: [
        { name: 'dirty', scores: ['dangerous', 'critical'], action: 'block' },
        { name: 'anonymizer', categories: ['vpn', 'tor', 'proxy'], action: 'block' },
        { name: 'hosting', categories: ['hosting'], action: 'block' },
      ],
      unknown: 'allow',
      invalidClientIp: 'allow',
      onError: 'open',
    },
  ],
  site: { rules: [], unknown: 'allow', invalidClientIp: 'allow', onError: 'open' },
  allow: { ips: [], asns: [], countries: [] },
  deny: { ips: [], asns: [], countries: [] },
  lookup: { tableDeadlineMs: 750 },
};
