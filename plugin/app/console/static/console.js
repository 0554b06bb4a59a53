// statushub console: drag-and-drop on top of forms that work without it (keyboard: the Move menus
// on cards and the up/down buttons on statuses). Every drop submits the same CSRF-protected form.
"use strict";

function boardDragAndDrop() {
  const form = document.getElementById("drop-form");
  if (!form) return;
  let dragged = null;
  document.querySelectorAll(".card-item[draggable]").forEach((card) => {
    card.addEventListener("dragstart", (event) => {
      dragged = card;
      card.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.dataset.customer);
    });
    card.addEventListener("dragend", () => card.classList.remove("dragging"));
  });
  document.querySelectorAll(".column[data-drop-status]").forEach((column) => {
    if (column.dataset.archived) return; // archived statuses cannot be assigned
    column.addEventListener("dragover", (event) => {
      event.preventDefault();
      column.classList.add("drop-target");
    });
    column.addEventListener("dragleave", () => column.classList.remove("drop-target"));
    column.addEventListener("drop", (event) => {
      event.preventDefault();
      column.classList.remove("drop-target");
      const customer = event.dataTransfer.getData("text/plain") || (dragged && dragged.dataset.customer);
      if (!customer || (dragged && dragged.closest(".column") === column)) return;
      form.elements.customer.value = customer;
      form.elements.status.value = column.dataset.dropStatus;
      form.submit();
    });
  });
}

function statusReorder() {
  document.querySelectorAll(".status-list").forEach((list) => {
    const form = list.parentElement.querySelector(".reorder-form");
    let dragged = null;
    list.querySelectorAll(".status-row").forEach((row) => {
      row.addEventListener("dragstart", (event) => {
        dragged = row;
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", row.dataset.key);
      });
      row.addEventListener("dragover", (event) => {
        if (!dragged || dragged.parentElement !== list) return;
        event.preventDefault();
        row.classList.add("drop-before");
      });
      row.addEventListener("dragleave", () => row.classList.remove("drop-before"));
      row.addEventListener("drop", (event) => {
        event.preventDefault();
        row.classList.remove("drop-before");
        if (!dragged || dragged === row) return;
        list.insertBefore(dragged, row);
        const order = Array.from(list.querySelectorAll(".status-row")).map((r) => r.dataset.key);
        form.elements.order.value = order.join(",");
        form.submit();
      });
    });
  });
}

function confirmDeletes() {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
}

// The error page's Back link: no inline script, which the Content-Security-Policy forbids.
function backLinks() {
  document.querySelectorAll("a[data-back]").forEach((link) => {
    link.addEventListener("click", (event) => {
      if (window.history.length < 2) return; // nothing to go back to: the link's own page (the board)
      event.preventDefault();
      window.history.back();
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  boardDragAndDrop();
  statusReorder();
  confirmDeletes();
  backLinks();
});
