// The front door: what BetterPrompts does, and a try-it box that works
// without an account.
import { Link, useLocation, useTitle } from "../router";
import { useSession } from "../session";
import { EnhanceWorkspace } from "./Enhance";

export function LandingPage() {
  useTitle("");
  const { user } = useSession();
  const { query } = useLocation();
  return (
    <>
      {query.get("deleted") === "1" && (
        <p className="notice" role="status">
          Your account and its data were deleted.
        </p>
      )}
      <section className="hero">
        <h1>Get a better answer from the prompt you already have.</h1>
        <p className="lead">
          Type a rough prompt. BetterPrompts works out what you want, keeps what you already said, asks for what is
          missing, and adds only what helps: never a role, a format or a scaffold your request does not need.
        </p>
        {!user && (
          <p className="cta">
            <Link href="/register" className="button primary">
              Create a free account
            </Link>{" "}
            <Link href="/signin" className="button">
              Sign in
            </Link>
          </p>
        )}
      </section>
      <section aria-labelledby="try">
        <h2 id="try">Try it</h2>
        <EnhanceWorkspace compact />
      </section>
      <section className="how" aria-label="How it works">
        <div>
          <h3>Understands the request</h3>
          <p>Ten intents, the complexity, and what you already specified: a persona, a format, a length, an audience.</p>
        </div>
        <div>
          <h3>Adds with restraint</h3>
          <p>Techniques are chosen for the prompt and each comes with its reason. Your own words stay as you wrote them.</p>
        </div>
        <div>
          <h3>Learns from you</h3>
          <p>Rate results and BetterPrompts learns which techniques work for which kind of request.</p>
        </div>
      </section>
    </>
  );
}
