/*
 * The sessionguard refresh protocol, for spin. One family; NTABS = 2 honest tabs running
 * the SDK's refresh (packages/client/src/refresh.ts #refreshLocked, #postRefresh) under the
 * cross-tab lock (packages/client/src/coordination.ts), and which may be closed mid-refresh
 * (the browser releases the lock, the answer is lost); an attacker who copies any token
 * that was stored or sent; a network that delays requests (at most DELAY ticks), loses
 * requests and answers. The server is server.pml. docs/protocol.md explains the abstractions.
 *
 * One process, one atomic step per event (a tab starts a refresh, an attempt times out, the
 * server judges a request, the network loses one, the attacker tries a copy, a tick
 * passes): events that only reorder invisible work inside a tab are not interleaved.
 *
 * Properties (ltl blocks at the end) are named after SPEC's; `spin -a` then `pan -N name`
 * checks one. Mutants (mutant_*.pml) define one MUTANT_* and include this file.
 *
 * Every request the server judges is printed as a line "SG t=..."; what the tabs and the
 * network do as "SG ev ..." (scripts/model/trace.ts turns simulations and counterexamples
 * into traces; tests/unit/sdk/model-replay.test.ts replays the events on the real SDK).
 */
#if defined(SHIPPED) && !defined(GRACE)
#define GRACE 10       /* SESSION_REUSE_GRACE's default */
#endif
#include "server.pml"

/*
 * The SDK's numbers. Small ones by default (1 tick, everything 1, grace 3) for the full
 * check and the mutants; -DSHIPPED takes packages/client/src/client-options.ts's defaults
 * at 1 tick = 1 s: requestTimeout 5 s, retryBudget 8 s, retryDelays [300, 1000, 2000] ms
 * (rounded up to whole ticks: 1, 1, 2; a later retry is the risky direction), the server's
 * SESSION_REUSE_GRACE 10 s, a request on the wire at most 1 s.
 */
#ifdef SHIPPED
#define BUDGET 8       /* retryBudget: no retry starts later than this after the first attempt */
#define TIMEOUT 5      /* requestTimeout */
#define ATTEMPTS 4     /* first attempt + retryDelays.length */
#define RETRY_DELAY(k) (k < 2 -> 1 : 2)   /* retryDelays[k], in whole ticks */
#ifndef MAXT
#define MAXT 14
#endif
#ifndef REFRESHES
#define REFRESHES 2
#endif
#ifndef STEALS
#define STEALS 1
#endif
#else
#define BUDGET 1
#define TIMEOUT 1
#define ATTEMPTS 2
#define RETRY_DELAY(k) 0
#endif
#define DELAY 1        /* a request reaches the server at most this long after it was sent */
#ifndef MAXT
#define MAXT 6         /* time horizon */
#endif
#ifndef REFRESHES
#define REFRESHES 3    /* honest refreshes, all tabs together */
#endif
#ifndef STEALS
#define STEALS 2       /* requests the attacker sends */
#endif
#ifndef CLOSES
#define CLOSES 1       /* tabs closed mid-refresh */
#endif

/* Senders. */
#define ATTACKER 9

/* Request slots: two per tab (the current attempt and one abandoned), one for the attacker. */
#define NSLOTS 5
#define ATK_SLOT 4
#define S_FREE 0
#define S_FLIGHT 1
#define S_HALF 2       /* MUTANT_SPLIT: read, not yet written */
byte st[NSLOTS];       /* slot state */
byte rq_g[NSLOTS];     /* generation presented */
bool rq_key[NSLOTS];   /* carries a proof from the bound key */
byte rq_sent[NSLOTS];
byte rq_who[NSLOTS];
bool rq_wait[NSLOTS];  /* the sender still waits for the answer */
byte rq_res[NSLOTS];
byte rq_ans[NSLOTS];
byte rq_gb[NSLOTS];    /* MUTANT_SPLIT: the family as the first half saw it */
byte rq_rb[NSLOTS];
bool rq_pb[NSLOTS];

/* The tabs: shared storage (IndexedDB) and lock (navigator.locks), and each tab's refresh. */
byte storage = 0;      /* generation of the stored refresh token */
bool signed_out = false;
byte lock = 0;         /* 0 free, else 1 + the holding tab */
byte refreshes = 0;
byte closes = 0;
bool busy[2];          /* a refresh is under way */
bool waiting[2];       /* an attempt failed; the retry waits for its timer */
byte tok[2];           /* the token it presents */
byte started[2];       /* first attempt */
byte sent[2];          /* latest attempt */
byte deadline[2];      /* when the latest attempt is abandoned */
byte wake[2];          /* when the retry is sent */
byte attempt[2];
byte cur[2];           /* slot of the latest attempt */
byte exposed = 1;      /* tokens stored or sent so far (bit g): the attacker may copy any */
byte steals = 0;

/* Ghost state for the honest client's guarantee. */
bool attacker_rotated = false;  /* the attacker rotated a current token: the owner is then rightly cut off */
bool attacker_presented = false; /* the attacker presented a bound family's current token (dpop_mismatch) */
bool honest_cut = false;        /* an honest request was answered reuse or key mismatch */
bool outage = false;            /* a tab gave up: every attempt of one refresh lost its answer */
bool closed = false;            /* a tab was closed while its refresh was under way */
bool overtaken = false;         /* a tab presented a token while an older one of its family was still in flight */

#define lost (outage || closed)  /* an answer the device never stored */
#define exposes(g) exposed = exposed | (1 << (g))

/* free(s): the slot forgets its request, so that equal situations are equal states. */
inline free(s) {
  st[s] = S_FREE; rq_g[s] = 0; rq_key[s] = false; rq_sent[s] = 0; rq_who[s] = 0;
  rq_wait[s] = false; rq_res[s] = 0; rq_ans[s] = 0; rq_gb[s] = 0; rq_rb[s] = 0; rq_pb[s] = false
}

/* pick(state, s): any slot in that state. */
inline pick(state, s) {
  if
  :: st[0] == state -> s = 0
  :: st[1] == state -> s = 1
  :: st[2] == state -> s = 2
  :: st[3] == state -> s = 3
  fi
}

#define due(s) (st[s] == S_FLIGHT && rq_sent[s] + DELAY <= now)
#define has_free(i) (st[2 * i] == S_FREE || st[2 * i + 1] == S_FREE)

/* send(i): an attempt of tab i's #postRefresh (the same token each time); its timeout is
 * min(requestTimeout, max(1 s, retryBudget - elapsed)), as #postRefresh computes it. */
inline send(i) {
  if
  :: st[2 * i] == S_FREE -> s = 2 * i
  :: else -> s = 2 * i + 1
  fi;
  /* an older token of this family still on the wire: this one overtakes it */
  if
  :: (st[0] == S_FLIGHT && rq_g[0] < tok[i]) || (st[1] == S_FLIGHT && rq_g[1] < tok[i]) ||
     (st[2] == S_FLIGHT && rq_g[2] < tok[i]) || (st[3] == S_FLIGHT && rq_g[3] < tok[i]) ->
     overtaken = true
  :: else -> skip
  fi;
  st[s] = S_FLIGHT; rq_g[s] = tok[i]; rq_key[s] = true; rq_sent[s] = now;
  rq_who[s] = i; rq_wait[s] = true; exposes(tok[i]);
  sent[i] = now; cur[i] = s;
  if
  :: BUDGET - (now - started[i]) >= TIMEOUT -> deadline[i] = now + TIMEOUT
  :: BUDGET - (now - started[i]) < TIMEOUT && BUDGET - (now - started[i]) > 1 ->
     deadline[i] = started[i] + BUDGET
  :: else -> deadline[i] = now + 1
  fi;
  printf("SG ev send tab=%d g=%d t=%d\n", i, tok[i], now);
  s = 0
}

/* done(i): tab i's refresh is over; it releases the lock and forgets it. */
inline done(i) {
  if
  :: lock == i + 1 -> lock = 0
  :: else -> skip
  fi;
  busy[i] = false; waiting[i] = false; tok[i] = 0; started[i] = 0; sent[i] = 0;
  deadline[i] = 0; wake[i] = 0; attempt[i] = 0; cur[i] = 0
}

#ifdef MUTANT_READ_EARLY
/* want(i): the tab reads the token it will present (its copy in memory, which a tab that
 * missed the other tabs' messages keeps stale) before it takes the lock. */
bool read_early[2];
inline want(i) {
  atomic {
    !signed_out && !busy[i] && !read_early[i] && now < MAXT && refreshes < REFRESHES ->
    read_early[i] = true; tok[i] = storage;
    printf("SG ev want tab=%d t=%d\n", i, now)
  }
}
#define READ_TOKEN(i) read_early[i] = false
#define MAY_START(i) read_early[i]
#else
#define READ_TOKEN(i) tok[i] = storage
#define MAY_START(i) true
#endif

/* start(i): #refresh takes the lock; #refreshLocked presents the stored token. */
inline start(i) {
  atomic {
    !signed_out && !busy[i] && now < MAXT && refreshes < REFRESHES && lock == 0 && has_free(i) &&
    MAY_START(i) ->
    refreshes++;
#ifndef MUTANT_LOCK_SHARED
    lock = i + 1;
#endif
    busy[i] = true; READ_TOKEN(i); started[i] = now; attempt[i] = 0;
    printf("SG ev start tab=%d t=%d\n", i, now);
    send(i)
  }
}

/* expire(i): the latest attempt is abandoned at its deadline (the request may still reach
 * the server); #postRefresh retries after retryDelays[attempt] while the budget lasts, else
 * gives up (the refresh fails, nothing is stored, the lock is released). */
inline expire(i) {
  atomic {
    busy[i] && !waiting[i] && now >= deadline[i] ->
    rq_wait[cur[i]] = false; attempt[i]++;
    printf("SG ev expire tab=%d t=%d\n", i, now);
#ifdef MUTANT_LATE_RETRY
    /* the retry waits until the window has passed */
    if
    :: attempt[i] < ATTEMPTS -> waiting[i] = true; wake[i] = started[i] + GRACE
    :: else -> outage = true; done(i)
    fi
#else
    if
    :: attempt[i] < ATTEMPTS && now - started[i] + RETRY_DELAY(attempt[i] - 1) <= BUDGET ->
       waiting[i] = true; wake[i] = now + RETRY_DELAY(attempt[i] - 1)
    :: else -> outage = true; done(i)
    fi
#endif
  }
}

/* resend(i): the retry's timer fires. */
inline resend(i) {
  atomic { busy[i] && waiting[i] && now >= wake[i] && has_free(i) -> waiting[i] = false; send(i) }
}

/* close(i): the tab is closed mid-refresh. The browser releases its Web Lock; whatever its
 * requests bring back is lost; nothing is stored. (A tab opened later is tab i again.) */
inline close(i) {
  atomic {
    busy[i] && closes < CLOSES ->
    closes++; closed = true;
    rq_wait[2 * i] = false; rq_wait[2 * i + 1] = false;
    printf("SG ev close tab=%d t=%d\n", i, now);
    done(i)
  }
}

/* answer(s, g, gb, rb, revb, pb): judge the request; a waiting tab takes the answer (or it is lost). */
inline answer(s, g, gb, rb, revb, pb) {
  judge(g, rq_key[s], rq_res[s], rq_ans[s], gb, rb, revb, pb);
  printf("SG t=%d who=%d g=%d key=%d res=%d ans=%d gen=%d rev=%d\n",
         now, rq_who[s], g, rq_key[s], rq_res[s], rq_ans[s], gen, revoked);
  if
  :: rq_who[s] == ATTACKER && rq_res[s] == R_ROTATED -> attacker_rotated = true; exposes(rq_ans[s])
  :: rq_who[s] == ATTACKER && rq_res[s] == R_GRACE -> exposes(rq_ans[s])
  :: rq_who[s] == ATTACKER && rq_res[s] == R_MISMATCH && g == gb -> attacker_presented = true
  :: else -> skip
  fi;
  if
  :: rq_who[s] != ATTACKER && (rq_res[s] == R_REUSED || rq_res[s] == R_MISMATCH) -> honest_cut = true
  :: else -> skip
  fi;
  if
  :: rq_who[s] != ATTACKER && rq_wait[s] ->
     if
     :: true ->
        /* the answer arrives: stored before the lock is released (the other tabs adopt
         * it), or a terminal answer: #end clears storage and tells the other tabs */
        printf("SG ev got tab=%d\n", rq_who[s]);
        if
        :: rq_res[s] == R_ROTATED || rq_res[s] == R_GRACE -> storage = rq_ans[s]; exposes(storage)
        :: else -> signed_out = true
        fi;
        done(rq_who[s])
     :: true -> printf("SG ev lost tab=%d\n", rq_who[s])   /* the answer is lost; the tab will time out */
     fi
  :: else -> skip
  fi;
  free(s)
}

/* serve(s): the server judges the request in slot s. */
inline serve(s) {
  g = rq_g[s]; gb = gen; rb = rot_t; revb = revoked; pb = presented;
  decide(g, rq_key[s], rq_res[s], rq_ans[s]);
#ifdef MUTANT_SPLIT
  if
  :: rq_res[s] == 0 && s != ATK_SLOT -> rq_gb[s] = gb; rq_rb[s] = rb; rq_pb[s] = pb; st[s] = S_HALF
  :: rq_res[s] == 0 && s == ATK_SLOT -> write_rotation(rq_res[s], rq_ans[s]); answer(s, g, gb, rb, revb, pb)
  :: else -> answer(s, g, gb, rb, revb, pb)
  fi;
#else
  answer(s, g, gb, rb, revb, pb);
#endif
  g = 0; gb = 0; rb = 0; revb = false; pb = false
}

init {
  byte s, g, gb, rb;
  bool revb, pb;
  atomic {
    /* /start: generation 0 stored; bound to the device key, or not */
    if
    :: bound = false
    :: bound = true
    fi;
    printf("SG start bound=%d grace=%d\n", bound, GRACE)
  }
  do
  :: start(0)
  :: start(1)
  :: expire(0)
  :: expire(1)
  :: resend(0)
  :: resend(1)
  :: close(0)
  :: close(1)
#ifdef MUTANT_READ_EARLY
  :: want(0)
  :: want(1)
#endif
  :: atomic {
       /* a request reaches the server */
       pick(S_FLIGHT, s); serve(s); s = 0
     }
  :: atomic {
       /* a request is lost on the way */
       pick(S_FLIGHT, s); printf("SG ev drop who=%d g=%d\n", rq_who[s], rq_g[s]); free(s); s = 0
     }
#ifdef MUTANT_SPLIT
  :: atomic {
       /* the second half of a split rotation */
       pick(S_HALF, s);
       write_rotation(rq_res[s], rq_ans[s]);
       answer(s, rq_g[s], rq_gb[s], rq_rb[s], false, rq_pb[s]); s = 0
     }
#endif
  :: atomic {
       /* the attacker presents a copy of any token stored or sent so far, without the key */
       steals < STEALS ->
       if
       :: exposed & 1 -> g = 0
       :: exposed & 2 -> g = 1
       :: exposed & 4 -> g = 2
       :: exposed & 8 -> g = 3
       :: exposed & 16 -> g = 4
       :: exposed & 32 -> g = 5
       :: exposed & 64 -> g = 6
       fi;
       steals++;
       st[ATK_SLOT] = S_FLIGHT; rq_g[ATK_SLOT] = g; rq_key[ATK_SLOT] = false;
       rq_sent[ATK_SLOT] = now; rq_who[ATK_SLOT] = ATTACKER; rq_wait[ATK_SLOT] = true;
       serve(ATK_SLOT); g = 0
     }
  :: atomic {
       /* a tick passes; no request stays on the wire longer than DELAY, and the SDK's
        * retry timers fire on time */
       now < MAXT && !due(0) && !due(1) && !due(2) && !due(3) &&
       !(waiting[0] && wake[0] <= now) && !(waiting[1] && wake[1] <= now) -> now++;
       printf("SG ev tick t=%d\n", now)
     }
  od
}

/* Never two successors of one generation; no generation rotated twice. */
ltl p9 { [] !p9_bad }
/* A token older than the previous generation (or the previous one after the window and,
 * bound, after its successor was presented) never succeeds and ends the family. */
ltl p1p2 { [] !p1p2_bad }
/* After revocation nothing of the family succeeds, and the family does not move. */
ltl revoked_final { [] !revoked_bad }
/* Successes are exactly: the current token rotates, or the previous token gets the
 * identical successor inside the window or, bound and with the key, while that successor
 * was never presented (P14). So a copy is worth exactly that, and only then. */
ltl p3 { [] !p3_bad }
/* An honest client is never cut off unless the attacker rotated first (unbound only) or
 * presented the current token without the key (bound: it is then known to hold it, and
 * the device's next repeat of the previous one is reuse), or a request was overtaken by
 * its successor; and for unbound families only, unless an answer was lost for good (a tab
 * closed mid-refresh, or every attempt of one refresh lost its answer). For bound families
 * there is no time exception (P14). */
ltl honest { [] (!honest_cut || attacker_rotated || attacker_presented || overtaken || (!bound && lost)) }
/* Known edges (expected to fail; docs/protocol.md and THREATS.md state them): */
ltl edge_overtaken { [] (!honest_cut || attacker_rotated || attacker_presented || (!bound && lost)) }
ltl edge_unbound_lost { [] (!honest_cut || attacker_rotated || attacker_presented || overtaken) }
ltl edge_presented { [] (!honest_cut || attacker_rotated || overtaken || (!bound && lost)) }
/* With a bound family, no request without the key gets a successor. */
ltl dpop { [] !dpop_bad }
