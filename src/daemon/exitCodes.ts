/**
 * The daemon process's exit codes, as the service managers read them.
 *
 * - 0: stopped as asked. Neither launchd (KeepAlive SuccessfulExit=false) nor systemd (Restart=on-failure) restarts it.
 * - 1: failed (a bad config exits 2): restarted by both, launchd no faster than its ThrottleInterval.
 * - 75 (EX_TEMPFAIL): stopped itself to be started again (its cache dir vanished): restarted by both.
 * - NO_RESTART (69, EX_UNAVAILABLE): under systemd, the cache is held by a daemon this one must not stop;
 *   the unit lists it in RestartPreventExitStatus, so systemd shows the failure and does not loop.
 *   launchd has no such list: the same situation exits 0 there.
 */
export const EXIT_RESTART = 75;
export const EXIT_NO_RESTART = 69;
