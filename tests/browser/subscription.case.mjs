// A browser subscribes over graphql-transport-ws and receives only the events of its scope.
//
// The page logs in as the embedded demo's chapter leader `khu1`, opens a WebSocket to the API with the token in
// `connection_init`, and subscribes to `memberEvents`. With the runner's `token` (an admin's) it then admits one
// member into another chapter and one into khu1's own chapter, over fetch (repeating the pair until an event
// arrives, since the protocol does not acknowledge a subscription). The first event the socket gets must be the
// admission in khu1's chapter: the other chapter's event never reaches it.

export async function run({ page, apiUrl, token }) {
  const result = await page.evaluate(
    async ({ apiUrl, token }) => {
      const gql = async (query, variables, bearer) => {
        const response = await fetch(`${apiUrl}/graphql`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
          },
          body: JSON.stringify({ query, variables }),
        });
        const body = await response.json();
        if (body.errors) throw new Error(JSON.stringify(body.errors));
        return body.data;
      };
      const login = await gql(
        "mutation { login(username: \"khu1\", password: \"chapter-demo-2024\") { token } }",
      );
      const leader = login.login.token;
      const me = await gql("{ me { scope { id } } }", {}, leader);
      const ownChapter = me.me.scope.id;
      const tree = await gql(
        "{ provinces(first: 5) { nodes { bases(first: 5) { nodes { chapters(first: 5) { nodes { id } } } } } } }",
        {},
        token,
      );
      const chapters = tree.provinces.nodes.flatMap((p) =>
        p.bases.nodes.flatMap((b) => b.chapters.nodes.map((c) => c.id)),
      );
      const otherChapter = chapters.find((id) => id !== ownChapter);
      if (!otherChapter) throw new Error("the demo data has a single chapter");

      const wsUrl = `${apiUrl.replace(/^http/, "ws")}/graphql`;
      const socket = new WebSocket(wsUrl, "graphql-transport-ws");
      const messages = [];
      let wake = () => {};
      socket.onmessage = (m) => {
        messages.push(JSON.parse(m.data));
        wake();
      };
      const closed = new Promise((resolve) => (socket.onclose = (e) => resolve(e.code)));
      const nextMessage = async (ms) => {
        const deadline = Date.now() + ms;
        while (messages.length === 0) {
          if (Date.now() > deadline) return null;
          await Promise.race([
            new Promise((r) => (wake = r)),
            new Promise((r) => setTimeout(r, 100)),
          ]);
        }
        return messages.shift();
      };
      await new Promise((resolve, reject) => {
        socket.onopen = resolve;
        socket.onerror = () => reject(new Error("WebSocket failed to open"));
      });
      socket.send(
        JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${leader}` } }),
      );
      const ack = await nextMessage(10000);
      if (!ack || ack.type !== "connection_ack") throw new Error(`no ack: ${JSON.stringify(ack)}`);
      socket.send(
        JSON.stringify({
          id: "members",
          type: "subscribe",
          payload: { query: "subscription { memberEvents { kind member { fullName chapter { id } } } }" },
        }),
      );

      const admit = (chapterId, givenName) =>
        gql(
          "mutation($input: AdmitMemberInput!) { admitMember(input: $input) { member { id } } }",
          {
            input: {
              chapterId,
              familyName: "Trình",
              middleName: "Duyệt",
              givenName,
              sex: "MALE",
              memberType: "VETERAN",
            },
          },
          token,
        );
      // The protocol does not acknowledge a subscription, so a busy server may register it after the first
      // admissions: repeat the pair until an event arrives. Whatever arrives first must be khu1's own.
      let event = null;
      for (let attempt = 0; attempt < 10 && !event; attempt++) {
        await admit(otherChapter, "Ngoài");
        await admit(ownChapter, "Trong");
        event = await nextMessage(3000);
      }
      socket.close(1000);
      await closed;
      return { event, ownChapter };
    },
    { apiUrl, token },
  );
  const data = result.event?.payload?.data?.memberEvents;
  if (result.event?.type !== "next" || !data) {
    throw new Error(`expected a memberEvents message, got ${JSON.stringify(result.event)}`);
  }
  if (data.kind !== "ADMITTED" || data.member.fullName !== "Trình Duyệt Trong") {
    throw new Error(`expected khu1's own admission first, got ${JSON.stringify(data)}`);
  }
  if (data.member.chapter.id !== result.ownChapter) {
    throw new Error(`event of another chapter delivered: ${JSON.stringify(data)}`);
  }
}
