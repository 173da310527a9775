// The customer's pane: stock Web Chat over the demo's local Direct Line (polling, no WebSocket).
(async function () {
  const res = await fetch('/api/directline/token', { method: 'POST' });
  const { token, userId } = await res.json();
  const directLine = window.WebChat.createDirectLine({
    token,
    domain: location.origin + '/v3/directline',
    webSocket: false,
    pollingInterval: 250,
  });
  window.WebChat.renderWebChat(
    {
      directLine,
      userID: userId,
      username: 'Ada Lovelace',
      styleOptions: {
        bubbleImageHeight: 120,
        hideUploadButton: true,
        botAvatarInitials: 'B',
        userAvatarInitials: 'AL',
      },
    },
    document.getElementById('webchat'),
  );
})();
