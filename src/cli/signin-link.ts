// The web console's single-use sign-in link (docs/design.md, "Console sign-in"): printed by
// `portcullis start` on a first start at a terminal and by `portcullis console login`. A module of
// its own so that the server's start does not load the operator CLI's client (connect, descriptors).

/** How long a sign-in link's PAT lives. */
export const SIGNIN_LINK_MINUTES = 10;
export const signInLink = (baseUrl: string, tokenId: string, token: string) => `${baseUrl.replace(/\/$/, "")}/ui/console/#signin=${tokenId}.${token}`;
