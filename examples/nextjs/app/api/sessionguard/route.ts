/** The client provider's Route Handler: session, sign-out, revoke; CSRF-checked. */
import { createSessionGuardRoute } from "@sessionguard/nextjs";
import { guard } from "../../../lib/guard.ts";

export const { POST } = createSessionGuardRoute(guard());
