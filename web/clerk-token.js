// The seam between the page and whoever proves the user's identity. Everything
// else on the page only calls `getToken()` and gets a Clerk session token (a JWT).
//
// - mode "local": the local stack's development issuer (never part of a deployment)
//   mints Clerk-shaped tokens for a demo user at GET <devTokenUrl> -> {"token": "..."}.
// - mode "clerk": a real Clerk instance through Clerk's browser SDK (clerk-js), loaded
//   from the instance's Frontend API; the user signs in with Clerk's own modal.

/**
 * @typedef {{ mode: "local", devTokenUrl: string }
 *   | { mode: "clerk", publishableKey: string, frontendApi: string }} IdentityConfig
 */

/** @param {IdentityConfig} config */
export function createTokenSource(config) {
  if (config.mode === "clerk") return clerkTokenSource(config);
  return localTokenSource(config);
}

/** @param {{ devTokenUrl: string }} config */
function localTokenSource({ devTokenUrl }) {
  return {
    label: "Sign in as the demo user (local development issuer)",
    async getToken() {
      const res = await fetch(devTokenUrl, { headers: { accept: "application/json" } });
      if (!res.ok) throw new Error(`the local development issuer answered ${res.status}`);
      const body = await res.json();
      if (typeof body?.token !== "string") throw new Error("the local development issuer sent no token");
      return body.token;
    },
  };
}

/** @param {{ publishableKey: string, frontendApi: string }} config */
function clerkTokenSource({ publishableKey, frontendApi }) {
  let loaded;
  const load = () => loaded ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = `${frontendApi.replace(/\/+$/, "")}/npm/@clerk/clerk-js@5/dist/clerk.browser.js`;
    script.async = true;
    script.crossOrigin = "anonymous";
    script.dataset.clerkPublishableKey = publishableKey;
    script.onload = async () => {
      try {
        await window.Clerk.load();
        resolve(window.Clerk);
      } catch (err) {
        reject(err);
      }
    };
    script.onerror = () => reject(new Error("could not load Clerk"));
    document.head.append(script);
  });
  return {
    label: "Sign in with Clerk",
    async getToken() {
      const clerk = await load();
      if (!clerk.session) {
        clerk.openSignIn();
        await new Promise((resolve) => {
          const stop = clerk.addListener(({ session }) => {
            if (session) {
              stop();
              resolve();
            }
          });
        });
      }
      return await clerk.session.getToken();
    },
  };
}
