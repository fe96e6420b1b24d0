/**
 * The challenge feature: a Turnstile page, the POST that verifies its token, and the signed
 * clearance cookie that lets a client pass later requests without a storage read.
 */
export {
  type ClearanceFailure,
  type ClearanceResult,
  clearanceExpiry,
  clearanceSecretProblem,
  clearanceSetCookie,
  readClearanceCookie,
  readCookie,
  signClearance,
  verifyClearance,
} from './cookie';
export {
  CHALLENGE_FIELDS,
  type ChallengePageOptions,
  type ChallengeText,
  challengeResponse,
  DEFAULT_CHALLENGE_TEXT,
} from './page';
export { returnPathOf, safeReturnPath } from './return-path';
export {
  type ChallengeSubmitDeps,
  type ChallengeSubmitOutcome,
  type ChallengeSubmitResult,
  handleChallengeSubmit,
} from './submit';
export {
  type FetchLike,
  type TurnstileFailure,
  type TurnstileResult,
  type TurnstileVerifyOptions,
  verifyTurnstileToken,
} from './turnstile';
