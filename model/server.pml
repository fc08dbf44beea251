/*
 * sessionguard's server side: one session family and the decision of
 * sessionguard.refresh_session (the function the refresh route calls; its rate limits never
 * stand before reuse detection, P13, so the model leaves them out). Included by session.pml
 * (the protocol model) and by the scripted replays that recompute expected outcomes for a
 * trace.
 *
 * Order of the checks, as in the SQL's locked slow path (the compare-and-set fast path is
 * its "rotated" branch taken without the lock): revoked, key mismatch, current token
 * (rotate), previous token inside the grace window or, for a bound family presented with
 * its key, at any age as long as the current generation was never presented (P14: the
 * same successor again), any older token (reuse: revoke). Expiry, rate limits, proof
 * replay and unknown families are abstracted away (docs/protocol.md says why).
 *
 * Mutations (each a model mutant, and each carried into SQL by tests/model/sql-mutants.ts):
 *   MUTANT_NO_GRACE       the grace branch is gone: every repeat is reuse
 *   MUTANT_GRACE_ANY      grace for any older generation, not only the previous one
 *   MUTANT_GRACE_FOREVER  grace for the previous generation without the time check
 *                         (unbound families too: supabase/auth's "one step behind" rule)
 *   MUTANT_NO_P14         a bound family's lost answer gets only the grace window (0.1.0's rule)
 *   MUTANT_REVOKED_ROTATES the current token of a revoked family still rotates
 *   MUTANT_KEY_LATE       the device-key check comes after the grace branch
 *   MUTANT_SPLIT          rotation reads and writes in two steps (no row lock, no CAS);
 *                         session.pml interleaves the two halves
 */

#ifndef GRACE
#define GRACE 3        /* SESSION_REUSE_GRACE, in ticks (1 tick = 1 s in the replays) */
#endif

/* Results, named as refresh_session names them. */
#define R_ROTATED  1
#define R_GRACE    2
#define R_REUSED   3
#define R_REVOKED  4
#define R_MISMATCH 5
#define R_NOTFOUND 6

#define MAXG 8         /* generations tracked by the ghost state below */

byte now = 0;          /* global time, in ticks */

/* The family row. */
byte gen = 0;          /* generation of the current refresh token */
byte rot_t = 0;        /* rotated_at */
bool revoked = false;
bool bound = false;    /* dpop_jkt is set: the family is bound to the honest device key */
bool presented = false; /* the current generation was presented without rotating (P14) */

/* Ghost state: what the properties watch. */
bool p9_bad = false;      /* two successors of one generation */
bool p1p2_bad = false;    /* an old token succeeded, or did not revoke */
bool revoked_bad = false; /* something succeeded (or moved) after revocation */
bool p3_bad = false;      /* a success other than a rotation or an in-window grace repeat */
bool dpop_bad = false;    /* a request without the key got a successor of a bound family */
bool rotated_from[MAXG];  /* generation g was rotated (g -> g+1) */

/* in_window(g, gb, rb): the previous token inside the grace window (P3). */
#define in_window(g, gb, rb) (g + 1 == gb && GRACE > 0 && now < rb + GRACE)
/* lost_answer(g, gb, pb): P14, the previous token of a bound family with its key, whose
 * successor was never presented (pb: presented before the request). */
#define lost_answer(g, gb, pb) (g + 1 == gb && bound && !pb)

/*
 * judge(g, key, res, ans, gb, rb, revb, pb): the properties, stated on what one request saw:
 * the token's generation g, whether it carried the bound key, the answer (res, ans) and the
 * family as it was before (gb = generation, rb = rotated_at, revb = revoked, pb = presented).
 */
inline judge(g, key, res, ans, gb, rb, revb, pb) {
  /* P9: a success for g carries g+1, and g rotates at most once. */
  if
  :: (res == R_ROTATED || res == R_GRACE) && ans != g + 1 -> p9_bad = true
  :: else -> skip
  fi;
  if
  :: res == R_ROTATED && g < MAXG ->
     if
     :: rotated_from[g] -> p9_bad = true
     :: else -> rotated_from[g] = true
     fi
  :: else -> skip
  fi;
  /* P1, P2: a live family's token older than the previous generation, or the previous
   * one after the window (and, bound, after its successor was presented), is refused as
   * reuse and the family ends (a request with the key, or to an unbound family; without
   * the key see dpop below). */
  if
  :: !revb && (!bound || key) && g < gb && !in_window(g, gb, rb) && !lost_answer(g, gb, pb) ->
     if
     :: !(res == R_REUSED && revoked) -> p1p2_bad = true
     :: else -> skip
     fi
  :: else -> skip
  fi;
  /* After revocation nothing succeeds and nothing moves. */
  if
  :: revb && (res != R_REVOKED || gen != gb) -> revoked_bad = true
  :: else -> skip
  fi;
  /* P3, P14: a success is either the rotation of the current token, or the previous token
   * answered with the identical successor inside the window, or (bound, with the key) at
   * any age while that successor was never presented; and such a repeat is never refused. */
  if
  :: (res == R_ROTATED && g != gb) ||
     (res == R_GRACE && !((in_window(g, gb, rb) || (key && lost_answer(g, gb, pb))) && ans == gb)) ->
     p3_bad = true
  :: !revb && (!bound || key) && (in_window(g, gb, rb) || lost_answer(g, gb, pb)) && res != R_GRACE ->
     p3_bad = true
  :: else -> skip
  fi;
  /* DPoP: without the key, no successor of a bound family. */
  if
  :: bound && !key && (res == R_ROTATED || res == R_GRACE) -> dpop_bad = true
  :: else -> skip
  fi
}

/* grace_ok(g): the previous token inside the window, or (bound; the key is checked
 * before) a lost answer's retry at any age (P14), as the SQL tests them. */
#if defined(MUTANT_GRACE_ANY)
#define window_ok(g) (g < gen && GRACE > 0 && now < rot_t + GRACE)
#elif defined(MUTANT_GRACE_FOREVER)
#define window_ok(g) (g + 1 == gen && GRACE > 0)
#else
#define window_ok(g) (g + 1 == gen && GRACE > 0 && now < rot_t + GRACE)
#endif
#ifdef MUTANT_NO_P14
#define grace_ok(g) window_ok(g)
#else
#define grace_ok(g) (window_ok(g) || (g + 1 == gen && bound && !presented))
#endif

/* The family is live for this request (MUTANT_REVOKED_ROTATES: also a revoked one's current token). */
#ifdef MUTANT_REVOKED_ROTATES
#define REVOKED_ROTATES(g) (g == gen)
#else
#define REVOKED_ROTATES(g) false
#endif
#define LIVE(g) (!revoked || REVOKED_ROTATES(g))

/*
 * decide(g, key, res, ans): refresh_session's decision for a request presenting generation
 * g (with or without the bound key), in one atomic step (the row lock). With MUTANT_SPLIT
 * a rotation only sets res = 0 ("rotate later") and the caller writes it in a second step.
 */
inline decide(g, key, res, ans) {
  ans = 0;
  if
  :: revoked && !REVOKED_ROTATES(g) -> res = R_REVOKED
  /* A generation never issued: nothing else is looked at (in the SQL it comes before the
   * key check; the MAC check of the route refuses such a token before the SQL anyway). */
  :: LIVE(g) && g > gen -> res = R_NOTFOUND
#ifndef MUTANT_KEY_LATE
  :: LIVE(g) && g <= gen && bound && !key -> res = R_MISMATCH;
     if
     :: g == gen -> presented = true
     :: else -> skip
     fi
  :: LIVE(g) && g <= gen && !(bound && !key) ->
#else
  :: LIVE(g) && g <= gen ->
#endif
     if
     :: g == gen && bound && !key -> res = R_MISMATCH; presented = true
     :: g == gen && !(bound && !key) ->
#ifdef MUTANT_SPLIT
        res = 0
#else
        gen = gen + 1; rot_t = now; presented = false; res = R_ROTATED; ans = gen
#endif
#ifndef MUTANT_NO_GRACE
     :: g < gen && grace_ok(g) -> res = R_GRACE; ans = gen
#endif
     :: g < gen && !grace_ok(g) && bound && !key -> res = R_MISMATCH
     :: g < gen && !grace_ok(g) && !(bound && !key) -> revoked = true; res = R_REUSED
#ifdef MUTANT_NO_GRACE
     :: g < gen && grace_ok(g) && bound && !key -> res = R_MISMATCH
     :: g < gen && grace_ok(g) && !(bound && !key) -> revoked = true; res = R_REUSED
#endif
     :: g > gen -> res = R_NOTFOUND
     fi
  fi
}

/* The second half of a split rotation: `generation = generation + 1` on the row as it is now. */
inline write_rotation(res, ans) {
  gen = gen + 1; rot_t = now; presented = false; res = R_ROTATED; ans = gen
}
