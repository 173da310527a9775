// The agent's pane: a minimal Tiledesk agent console over the demo's /agent API (polling).
(function () {
  const $ = (id) => document.getElementById(id);
  let selected;
  let shownList = '';
  let shownHistory = '';

  const api = async (path, body) => {
    const res = await fetch(
      path,
      body === undefined
        ? {}
        : {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          },
    );
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.json();
  };

  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  async function refresh() {
    const requests = await api('/agent/requests');
    if (selected === undefined && requests.length > 0) selected = requests[0].id;
    const list = JSON.stringify([requests, selected]);
    if (list !== shownList) {
      shownList = list;
      $('requests').replaceChildren(
        ...(requests.length === 0
          ? [el('li', 'empty', 'No requests yet: say hello on the left.')]
          : requests.map((r) => {
              const item = el('li', r.id === selected ? 'selected' : '');
              item.dataset.id = r.id;
              item.append(
                el('strong', 'who', r.user),
                el('span', `status s${r.status}`, r.statusText),
              );
              item.append(el('div', 'first', r.firstText));
              item.onclick = () => {
                selected = r.id;
                shownList = shownHistory = '';
                void refresh();
              };
              return item;
            })),
      );
    }
    const open = requests.find((r) => r.id === selected);
    for (const id of ['send', 'typing', 'close']) $(id).disabled = !open || open.status === 1000;
    if (!selected) return;
    const messages = await api(`/agent/requests/${encodeURIComponent(selected)}/messages`);
    const history = JSON.stringify(messages);
    if (history === shownHistory) return;
    shownHistory = history;
    $('history').replaceChildren(
      ...messages.map((m) => {
        const kind = m.subtype
          ? 'info'
          : m.sender.startsWith('bot_')
            ? 'bot'
            : m.sender === 'system'
              ? 'info'
              : m.sender.startsWith('webchat') || !m.sender.match(/^[0-9a-f]{24}$/)
                ? 'user'
                : 'agent';
        const item = el('li', `msg ${kind}`);
        item.append(el('span', 'sender', m.senderFullname), el('span', 'text', m.text));
        if (m.imageUrl) {
          const img = Object.assign(el('img'), { src: m.imageUrl, alt: m.text });
          img.onload = () => ($('history').scrollTop = $('history').scrollHeight);
          item.append(img);
        }
        return item;
      }),
    );
    $('history').scrollTop = $('history').scrollHeight;
  }

  const act = (action, body = {}) =>
    api(`/agent/requests/${encodeURIComponent(selected)}/${action}`, body).then(refresh);

  $('reply').onsubmit = (event) => {
    event.preventDefault();
    const body = {
      text: $('reply-text').value,
      buttons: $('reply-buttons')
        .value.split(',')
        .map((b) => b.trim())
        .filter(Boolean),
      imageUrl: $('reply-image').value,
    };
    for (const id of ['reply-text', 'reply-buttons', 'reply-image']) $(id).value = '';
    void act('reply', body);
  };
  $('image-sample').onclick = () => ($('reply-image').value = location.origin + '/parcel.svg');
  $('typing').onclick = () => void act('typing');
  $('close').onclick = () => void act('close');

  const loop = () =>
    refresh()
      .catch(console.error)
      .finally(() => setTimeout(loop, 400));
  loop();
})();
