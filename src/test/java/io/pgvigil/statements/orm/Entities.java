package io.pgvigil.statements.orm;

import java.util.ArrayList;
import java.util.List;

import jakarta.persistence.Entity;
import jakarta.persistence.FetchType;
import jakarta.persistence.Id;
import jakarta.persistence.JoinColumn;
import jakarta.persistence.ManyToOne;
import jakarta.persistence.OneToMany;
import jakarta.persistence.OrderBy;
import jakarta.persistence.Table;

/**
 * The entities of the ORM scenarios (test sources only): every association lazy, no batch fetching
 * unless a persistence unit sets {@code hibernate.default_batch_fetch_size}. Hibernate creates the
 * tables; the tests fill them with SQL.
 */
public final class Entities {

    private Entities() {
    }

    public static final List<Class<?>> ALL = List.of(AppUser.class, Customer.class, Invoice.class, Purchase.class,
            Project.class, Task.class, TaskComment.class);

    @Entity(name = "AppUser")
    @Table(name = "app_user")
    public static class AppUser {
        @Id
        Long id;
        String name;

        protected AppUser() {
        }

        public String getName() {
            return name;
        }
    }

    /** The list page: customers, then their invoices (a lazy one-to-many per row). */
    @Entity(name = "Customer")
    @Table(name = "customer")
    public static class Customer {
        @Id
        Long id;
        String name;
        @OneToMany(mappedBy = "customer", fetch = FetchType.LAZY)
        @OrderBy("id")
        List<Invoice> invoices = new ArrayList<>();

        protected Customer() {
        }

        public List<Invoice> getInvoices() {
            return invoices;
        }
    }

    @Entity(name = "Invoice")
    @Table(name = "invoice")
    public static class Invoice {
        @Id
        Long id;
        long cents;
        @ManyToOne(fetch = FetchType.LAZY)
        @JoinColumn(name = "customer_id")
        Customer customer;

        protected Invoice() {
        }

        public long getCents() {
            return cents;
        }
    }

    /** Orders sharing users: a lazy many-to-one over rows that share parents (the identity map). */
    @Entity(name = "Purchase")
    @Table(name = "purchase")
    public static class Purchase {
        @Id
        Long id;
        @ManyToOne(fetch = FetchType.LAZY)
        @JoinColumn(name = "user_id")
        AppUser user;

        protected Purchase() {
        }

        public AppUser getUser() {
            return user;
        }
    }

    /** The dashboard: a project, its tasks, each task's assignee and comments, each comment's author. */
    @Entity(name = "Project")
    @Table(name = "project")
    public static class Project {
        @Id
        Long id;
        String name;
        @OneToMany(mappedBy = "project", fetch = FetchType.LAZY)
        @OrderBy("id")
        List<Task> tasks = new ArrayList<>();

        protected Project() {
        }

        public List<Task> getTasks() {
            return tasks;
        }
    }

    @Entity(name = "Task")
    @Table(name = "task")
    public static class Task {
        @Id
        Long id;
        String title;
        @ManyToOne(fetch = FetchType.LAZY)
        @JoinColumn(name = "project_id")
        Project project;
        @ManyToOne(fetch = FetchType.LAZY)
        @JoinColumn(name = "assignee_id")
        AppUser assignee;
        @OneToMany(mappedBy = "task", fetch = FetchType.LAZY)
        @OrderBy("id")
        List<TaskComment> comments = new ArrayList<>();

        protected Task() {
        }

        public AppUser getAssignee() {
            return assignee;
        }

        public List<TaskComment> getComments() {
            return comments;
        }
    }

    @Entity(name = "TaskComment")
    @Table(name = "task_comment")
    public static class TaskComment {
        @Id
        Long id;
        String body;
        @ManyToOne(fetch = FetchType.LAZY)
        @JoinColumn(name = "task_id")
        Task task;
        @ManyToOne(fetch = FetchType.LAZY)
        @JoinColumn(name = "author_id")
        AppUser author;

        protected TaskComment() {
        }

        public AppUser getAuthor() {
            return author;
        }
    }
}
